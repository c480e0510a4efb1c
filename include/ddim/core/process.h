// Running another program: the faces data set is drawn by a node script (data/faces.h), the
// one thing ddim does not compute itself. The child's standard output is discarded, its
// standard error is handed over line by line (progress and its one-line error), and an
// interrupt (core/interrupt.h) terminates it and throws.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace ddim {

struct ProcessResult {
  int status = -1;              ///< the exit status; 128 + signal when the child was killed
  std::string last_error_line;  ///< the last non-empty line the child wrote to stderr
};

/// Runs `argv` (argv[0] looked up in PATH) and waits for it. `on_stderr_line` sees every line
/// of its standard error as it comes. Throws ddim::Error naming the program when it cannot be
/// started (not installed), and ddim::Interrupted (after terminating the child) on an interrupt.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::function<void(const std::string& line)>& on_stderr_line = {});

/// Whether `program` is an executable file, or found as one in PATH.
bool program_exists(const std::string& program);

}  // namespace ddim
