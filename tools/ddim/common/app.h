// The application around the commands: the global options, the action of the parsed
// subcommand, the root CLI::App, and the runtime and logging set up before an action runs.
//
// Each command lives in its own commands/<name>.cpp with an options struct, a setup function
// that declares its options, and a run function that parses nothing itself: it loads the
// inputs, makes one library call, and writes the outputs. Setup registers the run function as
// the command's action; main parses the whole command line (and any --config file) first, and
// only then runs the selected action, so that no work starts on a half-valid command.
#pragma once

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "ddim/core/device.h"

namespace ddim::cli {

/// Options accepted before or after any subcommand.
struct GlobalOptions {
  std::string device = "auto";
  int threads = 0;
  Tf32 tf32 = Tf32::Conv;
  uint64_t seed = 0;
  std::string log_level = "info";
};
GlobalOptions& global_options();

/// The action of the parsed subcommand; returns the process exit status.
using Action = std::function<int()>;
/// Makes `sub` run `action` when it is the parsed subcommand.
void on_run(CLI::App* sub, Action action);
/// The selected action (empty when none was selected).
Action& selected_action();

/// The root application, for writing the effective configuration.
void set_root_app(CLI::App* app);
/// The root application (null before set_root_app).
const CLI::App* root_app();

/// Applies --threads, --tf32 and --device (throws when CUDA is asked for but absent) and logs the
/// device once.
torch::Device init_runtime();

/// Sets up console logging at the --log-level (or SPDLOG_LEVEL) level.
void init_logging(const std::string& level);

}  // namespace ddim::cli
