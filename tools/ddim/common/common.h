// What every subcommand shares: global options, logging, run directories, data options, enum
// options and validators.
//
// Each subcommand lives in its own cmd_<name>.cpp with an options struct, a setup function
// that declares its options, and a run function that parses nothing itself: it loads the
// inputs, makes one library call, and writes the outputs. Setup registers the run function as
// the command's action; main parses the whole command line (and any --config file) first, and
// only then runs the selected action, so that no work starts on a half-valid command.
#pragma once

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ddim/core/device.h"
#include "ddim/core/error.h"
#include "ddim/core/names.h"
#include "ddim/data/dataset.h"
#include "ddim/training/distributed.h"

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
void write_json(const std::string& path, const nlohmann::ordered_json& json);

/// Declares --data, --split, --limit, --pad-to, --crop, --resize, --channels, --toy-size,
/// --attributes and --class-attribute on `sub`, bound to `source`; `split` is the command's
/// default split.
void add_data_options(CLI::App* sub, DataSource& source, Split split = Split::Train);
/// Renders the cached faces set when a parsed command's --data is `faces` (no DIR) and the
/// cache holds none yet: 30,000 faces at 64x64, once, with a progress bar. A cache folder
/// that exists and is not a set is left to the loader, which says what is wrong with it.
void render_missing_faces();
/// The source with the global --seed (toy sets are a function of it).
DataSource seeded(DataSource source);
/// The test split of a training source, for validation, when the set has one.
std::optional<Dataset> validation_split(const DataSource& source);

/// Remembers how to print an option's stored value back as a name (enum options store their
/// value's number): what effective_config() writes.
void register_value_names(const CLI::Option* option, std::function<std::string(const std::string&)> name_of);

/// An option whose values are the names of enum E's table (ddim/core/names.h): CLI11 checks and
/// converts them with a CheckedTransformer over the same table, `--help` lists them, and
/// config.toml gets the name back.
template <class E>
CLI::Option* add_enum_option(CLI::App* sub, const std::string& name, E& value, const std::string& help) {
  const auto& table = name_table<E>();
  std::map<std::string, E> map;
  for (const auto& [v, n] : table.entries) map[n] = v;
  auto check =
      CLI::CheckedTransformer(map).description("{" + fmt::format("{}", fmt::join(table.names(), ",")) + "}");
  auto* option = sub->add_option(name, value, help)->transform(check)->default_str(table.name(value));
  register_value_names(option, [](const std::string& stored) -> std::string {
    for (const auto& [v, n] : name_table<E>().entries)
      if (std::to_string(static_cast<std::underlying_type_t<E>>(v)) == stored || n == stored) return n;
    return stored;
  });
  return option;
}

/// A comma-separated list option ("32,64,96", "-0.5,0.5"), also accepted as a TOML array.
template <class T>
CLI::Option* add_list_option(CLI::App* sub, const std::string& name, std::vector<T>& values,
                             const std::string& help) {
  return sub->add_option(name, values, help)
      ->delimiter(',')
      ->expected(1, -1)
      ->default_str(fmt::format("{}", fmt::join(values, ",")));
}

/// Validator for positive numbers, with a message naming the option.
extern const CLI::Validator kPositive;
/// Validator for numbers >= 0.
extern const CLI::Validator kNonNegative;

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
  int64_t world() const { return group ? group->world_size() : 1; }
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

/// The values of a tensor as doubles (for JSON).
std::vector<double> to_vector(const torch::Tensor& t);

/// Seconds since `start`.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace ddim::cli
