// What every subcommand shares: global options, logging, run directories, data options.
//
// Each subcommand lives in its own cmd_<name>.cpp with an options struct, a setup function
// that declares its options, and a run function. Setup registers the run function as the
// command's action; main parses the whole command line (and any --config file) first, and
// only then runs the selected action, so that no work starts on a half-valid command.
#pragma once

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

#include "ddim/dataset.h"
#include "ddim/distributed.h"
#include "ddim/error.h"

namespace ddim::cli {

/// Options accepted before or after any subcommand.
struct GlobalOptions {
  std::string device = "auto";
  int threads = 0;
  std::string tf32 = "conv";
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

/// Applies --threads, --tf32 and --device (throws when CUDA is asked for but absent) and logs the
/// device once.
torch::Device init_runtime();

/// Sets up console logging at the --log-level (or SPDLOG_LEVEL) level.
void init_logging(const std::string& level);

/// The global options and those of the parsed subcommand(s), as TOML that --config reads.
std::string effective_config();

/// Creates a run directory: the directory itself, `config.toml` with the effective options
/// of this command, and a debug-level log file `log.txt` beside the console log.
void open_run_dir(const std::string& dir);

/// Writes JSON (pretty, with a trailing newline) atomically.
void write_json(const std::string& path, const std::string& json_text);

/// Data options shared by commands that read a data set.
struct DataArgs {
  std::string spec = "fashion-mnist";
  std::string split = "train";
  int64_t limit = 0;
  int64_t pad_to = -1;
  int64_t crop = 0;
  int64_t resize = 0;
  int64_t channels = 0;
  int64_t toy_size = 0;
  std::string attributes;       ///< folder: attributes file
  std::string class_attribute;  ///< the attribute used as the class label

  ddim::DataOptions options() const;
  ddim::Dataset load() const;
  /// The same arguments for another split (e.g. the test split for validation).
  DataArgs with_split(const std::string& split) const;
  nlohmann::json to_json() const;
  static DataArgs from_json(const nlohmann::json& j);
};
/// Declares --data, --split, --limit, --pad-to, --crop, --resize, --channels, --toy-size,
/// --attributes and --class-attribute on `sub`. `split` is the default split of this command.
void add_data_options(CLI::App* sub, DataArgs& args, const std::string& split = "train");

/// Validator for positive integers, with a message naming the option.
extern const CLI::Validator kPositive;
/// Validator for integers >= 0.
extern const CLI::Validator kNonNegative;

}  // namespace ddim::cli

namespace ddim::cli {

/// Installs SIGINT/SIGTERM handlers that only record the request; long loops poll it and
/// stop cleanly (saving what they must). Returns the polling function.
std::function<bool()> install_stop_handler();
/// The signal that requested the stop (0: none).
int stop_signal();

/// Data-parallel context of a training command: the process group when the process was
/// started by torchrun or srun (RANK/WORLD_SIZE or SLURM_* in the environment).
struct Parallel {
  std::unique_ptr<ddim::ProcessGroup> group;
  bool primary() const { return !group || group->rank() == 0; }
  ddim::GradientSync* sync() const { return group.get(); }
};
/// Joins the process group if the launcher asked for one (with `timeout_s` on every wait),
/// quiets the console of ranks other than 0 and picks cuda:LOCAL_RANK on GPUs.
Parallel init_parallel(int timeout_s, torch::Device& device);
/// The stop request of a run: a signal, agreed on by every process of a group.
std::function<bool()> stop_request(const Parallel& parallel);

/// Draws a chart that is not the command's main output: a build without PLplot (see
/// CMakeLists.txt) skips it with a warning instead of failing the command.
template <class Draw>
void optional_chart(Draw&& draw) {
  try {
    draw();
  } catch (const ddim::Unavailable& e) {
    spdlog::warn("chart skipped: {}", e.what());
  }
}

/// Parses "32,64,96" into integers; throws ddim::InvalidArgument naming `option`.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option);

}  // namespace ddim::cli
