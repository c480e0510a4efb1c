#include "common/app.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>

#include "ddim/core/memory.h"

namespace ddim::cli {
namespace {
const CLI::App* g_root = nullptr;

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

const CLI::App* root_app() { return g_root; }

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

torch::Device init_runtime() {
  const auto& g = global_options();
  // No page faults on every training step's activations (core/memory.h): a third of the faults, and
  // training steps 1.13x (fp32) and 1.09x (bf16) faster, medians of 4 alternating rounds
  // (docs/results/cpu-profile.md).
  retain_freed_memory();
  const int threads = configure_threads(g.threads);
  set_tf32(g.tf32);
  const auto device = parse_device(g.device);
  spdlog::debug("LibTorch {}, {} CPU threads, device {}", torch_version(), threads, device.str());
  if (device.is_cpu() && bf16_requested() && !cpu_has_bf16_units())
    spdlog::warn("--bf16 on a CPU without AVX512-BF16 or AMX: bf16 is emulated and likely slower than fp32");
  return device;
}

}  // namespace ddim::cli
