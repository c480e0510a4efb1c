// What every fuzz target shares: small input limits, and the rule that a reader may refuse
// an input only with a ddim::Error whose message is one line starting with the input's name.
// Any other exception, a message of several lines or one that does not name the input is a
// finding: the target aborts, and libFuzzer saves the input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/Parallel.h>

#include "ddim/core/error.h"
#include "ddim/core/limits.h"

namespace ddim::fuzz {

inline const std::string kWhat = "fuzz-input";

/// Limits far below libFuzzer's 2 GB RSS limit (-rss_limit_mb): 1 megapixel, 64 MiB a file;
/// one LibTorch thread (a thread pool spinning between tiny inputs only slows the fuzzer down).
inline void set_small_limits() {
  set_input_limits({int64_t{1} << 20, int64_t{64} << 20});
  at::set_num_threads(1);
}

[[noreturn]] inline void finding(const char* kind, const std::string& message) {
  std::fprintf(stderr, "FUZZ FINDING: %s: %s\n", kind, message.c_str());
  std::abort();
}

/// Runs `body` on one input and checks how it fails, if it does. `anywhere`: the message may
/// name the input anywhere (a reader of a folder names the file under it that is wrong, a
/// parser of a flag quotes it after the flag's name), not only at its start. `name`: what the
/// message names when the input is not a file (the faces renderer's output).
template <class Body>
void run(Body&& body, bool anywhere = false, const std::string& name = kWhat) {
  try {
    body();
  } catch (const ddim::Error& e) {
    const std::string m = e.what();
    // DDIM_FUZZ_VERBOSE=1: print each refusal (to see how far a seed input gets).
    if (std::getenv("DDIM_FUZZ_VERBOSE") != nullptr) std::fprintf(stderr, "refused: %s\n", m.c_str());
    const auto at = m.find(name);
    if (at == std::string::npos || (!anywhere && at != 0)) finding("message does not name the input", m);
    if (m.find('\n') != std::string::npos) finding("message of several lines", m);
  } catch (const std::exception& e) {
    finding("exception that is not a ddim::Error", e.what());
  }
}

}  // namespace ddim::fuzz
