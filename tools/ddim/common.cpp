#include "common.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "ddim/config_file.h"
#include "ddim/device.h"
#include "ddim/error.h"
#include "ddim/file.h"
#include "ddim/interrupt.h"

namespace ddim::cli {
namespace {
CLI::App* g_root = nullptr;
volatile std::sig_atomic_t g_stop_signal = 0;
void record_stop(int sig) {
  if (g_stop_signal != 0) {
    // A second signal: the first one is being honoured, this one ends the process now.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal = sig;
  ddim::request_interrupt(sig);
}
}  // namespace

std::function<bool()> install_stop_handler() {
  struct sigaction sa {};
  sa.sa_handler = record_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return [] { return g_stop_signal != 0; };
}

int stop_signal() { return g_stop_signal; }

Parallel init_parallel(int timeout_s, torch::Device& device) {
  Parallel p;
  const auto env = distributed_env();
  if (!env) return p;
  if (device.is_cuda()) device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env->local_rank));
  if (env->rank != 0) {
    // Rank 0 speaks for the job; the others report only warnings and errors.
    for (auto& sink : spdlog::default_logger()->sinks()) sink->set_level(spdlog::level::warn);
  }
  spdlog::info("rank {} of {} ({}): joining the process group at {}:{}", env->rank, env->world_size,
               env->launcher, env->master_addr, env->master_port);
  p.group = std::make_unique<ProcessGroup>(*env, std::chrono::seconds(timeout_s));
  return p;
}

std::function<bool()> stop_request(const Parallel& parallel) {
  auto local = install_stop_handler();
  if (!parallel.group) return local;
  auto* group = parallel.group.get();
  return [local, group] { return group->any(local()); };
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (...) {
      used = 0;
    }
    DDIM_CHECK_ARG(used == item.size() && !item.empty(), "{}: '{}' is not a comma-separated list of integers",
                   option, text);
    out.push_back(v);
  }
  return out;
}

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

Action& selected_action() {
  static Action action;
  return action;
}

void on_run(CLI::App* sub, Action action) {
  sub->callback([action = std::move(action)] { selected_action() = action; });
}

void set_root_app(CLI::App* app) { g_root = app; }

void init_logging(const std::string& level) {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::string wanted = level;
  if (const char* env = std::getenv("SPDLOG_LEVEL"); env && level == "info") wanted = env;
  console->set_level(spdlog::level::from_str(wanted));
  console->set_pattern("[%H:%M:%S] %^%l%$: %v");
  auto logger = std::make_shared<spdlog::logger>("ddim", console);
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

namespace {

// Whether the parsed subcommand (or one of its parents) was given --bf16, on the command line
// or in a --config file.
bool bf16_requested() {
  for (const CLI::App* app = g_root; app != nullptr;) {
    const auto* opt = app->get_option_no_throw("--bf16");
    if (opt != nullptr && opt->count() > 0 && opt->as<bool>()) return true;
    const auto subs = app->get_subcommands();
    app = subs.empty() ? nullptr : subs.front();
  }
  return false;
}

}  // namespace

torch::Device init_runtime() {
  const auto& g = global_options();
  const int threads = configure_threads(g.threads);
  set_tf32(tf32_from_string(g.tf32));
  const auto device = parse_device(g.device);
  spdlog::debug("LibTorch {}, {} CPU threads, device {}", torch_version(), threads, device.str());
  if (device.is_cpu() && bf16_requested() && !cpu_has_bf16_units())
    spdlog::warn("--bf16 on a CPU without AVX512-BF16 or AMX: bf16 is emulated and likely slower than fp32");
  return device;
}

namespace {

// A TOML value: numbers and booleans bare, everything else quoted.
std::string toml_value(const std::string& v) {
  if (v == "true" || v == "false") return v;
  if (is_config_number(v)) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\')
      q += std::string("\\") + c;
    else if (static_cast<unsigned char>(c) < 0x20)
      q += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    else
      q += c;
  }
  return q + "\"";
}

void write_options(const CLI::App& app, std::string& out) {
  for (const auto* opt : app.get_options()) {
    const auto name = opt->get_single_name();
    if (name.empty() || name == "help" || name == "help-all" || name == "config" || name == "version" ||
        opt->get_positional())
      continue;
    auto values = opt->reduced_results();
    std::string value;
    if (values.empty()) {
      if (opt->get_type_size() == 0) {
        value = "false";  // a flag that was not given
      } else {
        value = opt->get_default_str();
        if (value.empty()) continue;  // no value and no default: leave it out
        value = toml_value(value);
      }
    } else if (values.size() == 1) {
      value = opt->get_type_size() == 0 ? (values[0] == "0" || values[0] == "false" ? "false" : "true")
                                        : toml_value(values[0]);
    } else {
      value = "[";
      for (size_t i = 0; i < values.size(); ++i) value += (i ? ", " : "") + toml_value(values[i]);
      value += "]";
    }
    out += fmt::format("{} = {}\n", name, value);
  }
}

void write_section(const CLI::App& app, const std::string& prefix, std::string& out) {
  for (const auto* sub : app.get_subcommands()) {  // only the parsed ones
    const std::string name = prefix.empty() ? sub->get_name() : prefix + "." + sub->get_name();
    out += "\n[" + name + "]\n";
    write_options(*sub, out);
    write_section(*sub, name, out);
  }
}

}  // namespace

std::string effective_config() {
  if (!g_root) return {};
  std::string out =
      "# The effective options of this run: `ddim --config config.toml <command>` repeats it\n"
      "# (options given on the command line override the file).\n";
  write_options(*g_root, out);
  write_section(*g_root, "", out);
  return out;
}

void open_run_dir(const std::string& dir) {
  make_directories(dir);
  if (g_root) write_file_atomic(dir + "/config.toml", effective_config());
  auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(dir + "/log.txt", /*truncate=*/false);
  file->set_level(spdlog::level::debug);
  file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] %l: %v");
  spdlog::default_logger()->sinks().push_back(file);
}

void write_json(const std::string& path, const std::string& json_text) {
  write_file_atomic(path, json_text + "\n");
}

ddim::DataOptions DataArgs::options() const {
  ddim::DataOptions o;
  o.split = split_from_string(split);
  o.limit = limit;
  o.pad_to = pad_to;
  o.crop = crop;
  o.resize = resize;
  o.channels = channels;
  o.toy_size = toy_size;
  o.seed = global_options().seed;
  return o;
}

ddim::Dataset DataArgs::load() const { return load_dataset(parse_data_spec(spec), options()); }

DataArgs DataArgs::with_split(const std::string& s) const {
  DataArgs a = *this;
  a.split = s;
  return a;
}

nlohmann::json DataArgs::to_json() const {
  return {{"spec", spec}, {"split", split},   {"limit", limit},       {"pad_to", pad_to},
          {"crop", crop}, {"resize", resize}, {"channels", channels}, {"toy_size", toy_size}};
}

DataArgs DataArgs::from_json(const nlohmann::json& j) {
  DataArgs a;
  a.spec = j.value("spec", a.spec);
  a.split = j.value("split", a.split);
  a.limit = j.value("limit", a.limit);
  a.pad_to = j.value("pad_to", a.pad_to);
  a.crop = j.value("crop", a.crop);
  a.resize = j.value("resize", a.resize);
  a.channels = j.value("channels", a.channels);
  a.toy_size = j.value("toy_size", a.toy_size);
  return a;
}

const CLI::Validator kPositive(
    [](std::string& value) -> std::string {
      try {
        size_t used = 0;
        const double v = std::stod(value, &used);
        if (used == value.size() && v > 0) return {};
      } catch (...) {
      }
      return "must be a positive number, got '" + value + "'";
    },
    "POSITIVE");

const CLI::Validator kNonNegative(
    [](std::string& value) -> std::string {
      try {
        size_t used = 0;
        const double v = std::stod(value, &used);
        if (used == value.size() && v >= 0) return {};
      } catch (...) {
      }
      return "must be zero or a positive number, got '" + value + "'";
    },
    "NON-NEGATIVE");

void add_data_options(CLI::App* sub, DataArgs& args, const std::string& split) {
  args.split = split;
  sub->add_option("--data", args.spec,
                  "Data set: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, folder:DIR, "
                  "toy:circles|two-moons|gaussian")
      ->capture_default_str();
  sub->add_option("--split", args.split, "Which split: train, test or all")
      ->check(CLI::IsMember({"train", "test", "all"}))
      ->capture_default_str();
  sub->add_option("--limit", args.limit, "Use only the first N examples of the split (0: all)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--pad-to", args.pad_to,
                  "Pad images with zeros to SIZExSIZE (-1: next multiple of 8, so 28x28 -> "
                  "32x32; 0: never)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 16))
      ->capture_default_str();
  sub->add_option("--crop", args.crop, "folder: crop the central square of this side first (0: no crop)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--resize", args.resize, "folder: resize to SIZExSIZE after cropping (0: keep)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--channels", args.channels, "folder: 1 (gray) or 3 (RGB); 0: as the files are")
      ->check(CLI::IsMember({0, 1, 3}))
      ->capture_default_str();
  sub->add_option("--toy-size", args.toy_size, "toy sets: number of points (0: 10000 train, 2000 test)")
      ->check(kNonNegative)
      ->capture_default_str();
}

}  // namespace ddim::cli
