// Checkpoints: a whole `.pt` file when the input is a zip archive ("PK"), else the pickle of a
// checkpoint served with the storage records of a real one, so that mutations reach the
// layout, the JSON metadata and the network they describe: a 1x8x8 U-Net denoiser's, or after
// a first byte 'A' a Diff-AE's, after 'G' a DiffuseGAE's over it. What reads is model_from_checkpoint, as
// `--model` loads any kind (denoiser, class-conditional, Diff-AE, GAE, embedder, classifier).
#include <unistd.h>

#include <cstdio>
#include <string_view>
#include <vector>

#include "ddim/core/file.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/methods/model.h"
#include "fuzz_common.h"
#include "io/pt_reader.h"
#include "tiny_models.h"

namespace {
using Records = std::map<std::string, std::vector<char>>;
std::map<char, Records>* g_records = nullptr;  // by selector: 'D' denoiser, 'A' Diff-AE, 'G' GAE

// The records of a checkpoint, keyed as in its archive.
Records checkpoint_records(const ddim::Checkpoint& ck) {
  char name[] = "/tmp/ddim-fuzz-checkpoint-XXXXXX";
  const int fd = mkstemp(name);
  if (fd < 0) std::abort();
  close(fd);
  ddim::save_checkpoint(name, ck);
  const auto bytes = ddim::read_file(name);
  std::remove(name);
  const ddim::detail::ZipView zip(std::string_view(bytes.data(), bytes.size()), name);
  Records records;
  for (const auto& e : zip.entries()) {
    const auto at = e.name.find("/data/");
    if (at != std::string::npos) records[e.name.substr(at + 6)] = zip.read(e, int64_t{1} << 30);
  }
  return records;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  g_records = new std::map<char, Records>{{'D', checkpoint_records(ddim::fuzz::tiny_denoiser_checkpoint())},
                                          {'A', checkpoint_records(ddim::fuzz::tiny_diffae_checkpoint())},
                                          {'G', checkpoint_records(ddim::fuzz::tiny_gae_checkpoint())}};
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (g_records == nullptr) LLVMFuzzerInitialize(nullptr, nullptr);
  const std::vector<char> bytes(data, data + size);
  const auto& what = ddim::fuzz::kWhat;
  ddim::fuzz::run([&] {
    c10::IValue value;
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
      value = ddim::unpickle_bytes(bytes, what);
    } else {
      const bool selected = size >= 1 && (data[0] == 'A' || data[0] == 'G');
      const Records& served = g_records->at(selected ? static_cast<char>(data[0]) : 'D');
      const ddim::detail::RecordReader records = [&](const std::string& key,
                                                     int64_t) -> std::optional<std::vector<char>> {
        const auto it = served.find(key);
        if (it == served.end()) return std::nullopt;
        return it->second;
      };
      const std::string_view pickle(bytes.data() + (selected ? 1 : 0), bytes.size() - (selected ? 1 : 0));
      value = ddim::detail::unpickle_stream(pickle, records, what, ddim::input_limits().max_bytes);
    }
    const auto ck = ddim::checkpoint_from_value(value, what);
    (void)ddim::denoiser_fingerprint(ck);
    const auto model = ddim::model_from_checkpoint(ck, what);
    if (model.denoiser) (void)model.denoiser->describe();
  });
  return 0;
}
