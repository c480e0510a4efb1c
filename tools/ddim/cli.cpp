#include "cli.h"

#include <c10/util/Exception.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "commands.h"
#include "common/common.h"
#include "common/parallel.h"
#include "common/strict_config.h"
#include "common/unknown_command.h"
#include "ddim/core/device.h"
#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/limits.h"

namespace ddim::cli {
namespace {

// The signal dispositions of the caller, put back when the command ends: the stop handler is
// the command's (a host such as Python has its own).
class SignalsRestored {
 public:
  SignalsRestored() {
    sigaction(SIGINT, nullptr, &int_);
    sigaction(SIGTERM, nullptr, &term_);
  }
  ~SignalsRestored() {
    sigaction(SIGINT, &int_, nullptr);
    sigaction(SIGTERM, &term_, nullptr);
  }

 private:
  struct sigaction int_ {
  }, term_{};
};

}  // namespace

// The program's options and commands, bound to the global options and to `max_image_pixels`.
std::unique_ptr<CLI::App> make_app(int64_t& max_image_pixels) {
  // The registries the commands fill are keyed by the options of one application.
  forget_value_names();
  forget_data_options();
  auto owned = std::make_unique<CLI::App>(
      "ddim: train DDIM diffusion denoisers, sample them, and embed images into their seed\n"
      "(latent noise) space by inversion, gradient descent and embedding networks.\n"
      "Every option can also come from a TOML file (--config; configs/ has presets).",
      "ddim");
  auto& app = *owned;
  app.require_subcommand(1);
  // Usage errors are one line, like every other error.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("error: ") + e.what() + " (see --help)\n";
  });
  app.fallthrough();  // global options are accepted after the subcommand too
  app.set_config("--config", "",
                 "Read options from a TOML file: top-level keys for global options, a "
                 "[subcommand] table for the subcommand's (configs/ holds presets)");
  use_strict_config(app);
  app.set_version_flag("--version", "ddim " DDIM_VERSION " (LibTorch " + ddim::torch_version() +
                                        (ddim::built_with_cuda() ? ", CUDA)" : ", CPU)"));
  auto& g = global_options();
  app.add_option("--device", g.device, "Where to compute: auto (a GPU if there is one), cpu, cuda, cuda:N")
      ->capture_default_str();
  app.add_option("--threads", g.threads, "CPU threads for LibTorch (0: all CPUs this process may use)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  add_enum_option(&app, "--tf32", g.tf32,
                  "GPU fp32 on TF32 tensor cores: conv (convolutions, LibTorch's default), all "
                  "(matrix products too), off (full fp32 everywhere)");
  app.add_option("--seed", g.seed, "Seed of every random draw (same seed, same machine: same bits on CPU)")
      ->capture_default_str();
  app.add_option("--log-level", g.log_level, "Console log level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--max-image-pixels", max_image_pixels,
                 "Largest image accepted, in pixels (width x height, also after padding or resizing): "
                 "larger files are refused before they are decoded")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  register_commands(app);
  return owned;
}

int run(int argc, char** argv, bool rethrow) {
  // A fresh start: a host may run several command lines in one process.
  global_options() = GlobalOptions{};
  selected_action() = nullptr;
  reset_stop_request();
  ddim::clear_interrupt();
  SignalsRestored signals;
  int64_t max_image_pixels = ddim::InputLimits{}.max_image_pixels;
  const auto owned = make_app(max_image_pixels);
  auto& app = *owned;
  const auto& g = global_options();
  set_root_app(&app);

  if (const auto unknown = unknown_command(app, argc, argv)) {
    if (rethrow) throw ddim::InvalidArgument(*unknown);
    std::fprintf(stderr, "error: %s (see --help)\n", unknown->c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; every usage error exits 2.
    if (rethrow && e.get_exit_code() != 0)
      throw ddim::InvalidArgument(std::string(e.what()) + " (see --help)");
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  // DDIM_PARSE_ONLY=1: the command line parsed (exit 2 on a usage error) and nothing run, so a
  // test can check that every command the README shows is one ddim accepts.
  if (const char* parse_only = std::getenv("DDIM_PARSE_ONLY"); parse_only && std::string(parse_only) == "1") {
    return 0;
  }
  init_logging(g.log_level);
  ddim::set_input_limits({max_image_pixels, 0});
  install_stop_handler();  // Ctrl-C and SIGTERM end every long phase promptly (ddim/core/interrupt.h)
  if (rethrow) {
    render_missing_faces();
    return selected_action()();
  }
  try {
    render_missing_faces();
    return selected_action()();
  } catch (const ddim::Interrupted& e) {
    spdlog::warn("{}; stopped", e.what());
    return 128 + (e.signal() > 0 ? e.signal() : SIGTERM);
  } catch (const ddim::InvalidArgument& e) {
    spdlog::error("{}", e.what());
    if (!e.where().empty()) spdlog::debug("thrown at {}", e.where());
    return 2;
  } catch (const ddim::Error& e) {
    spdlog::error("{}", e.what());
    if (!e.where().empty()) spdlog::debug("thrown at {}", e.where());
    return 1;
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    spdlog::error("{}", msg.substr(0, msg.find('\n')));
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

std::string help(const std::vector<std::string>& command) {
  int64_t max_image_pixels = 0;
  const auto app = make_app(max_image_pixels);
  CLI::App* sub = app.get();
  for (const auto& name : command) {
    CLI::App* next = nullptr;
    for (auto* s : sub->get_subcommands({})) {
      if (s->get_name() == name) next = s;
    }
    DDIM_CHECK_ARG(next != nullptr, "ddim {}: no such command", fmt::join(command, " "));
    sub = next;
  }
  return sub->help();
}

}  // namespace ddim::cli
