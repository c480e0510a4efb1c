#include "training_run.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <csignal>

#include "ddim/error.h"
#include "progress.h"

namespace ddim::cli {

RunOptions RunArgs::options(const std::string& dir, int64_t steps) const {
  RunOptions o;
  o.dir = dir;
  o.steps = steps;
  o.checkpoint_every = checkpoint_every;
  o.keep = keep;
  o.log_every = log_every;
  o.preview_every = preview_every;
  return o;
}

nlohmann::json RunArgs::to_json(int64_t steps) const {
  return {{"steps", steps},
          {"checkpoint_every", checkpoint_every},
          {"keep", keep},
          {"log_every", log_every},
          {"preview_every", preview_every}};
}

void RunArgs::resume(const nlohmann::json& run) {
  checkpoint_every = run.value("checkpoint_every", checkpoint_every);
  keep = run.value("keep", keep);
  log_every = run.value("log_every", log_every);
  preview_every = run.value("preview_every", preview_every);
}

void add_run_options(CLI::App* sub, RunArgs& a, const std::string& log_help,
                     const std::string& preview_help) {
  sub->add_option(
         "--dist-timeout", a.dist_timeout,
         "Data-parallel runs (torchrun, srun): seconds any process waits for the others before giving up")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--checkpoint-every", a.checkpoint_every, "Steps between checkpoints")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--keep", a.keep, "Checkpoints to keep")->check(kPositive)->capture_default_str();
  sub->add_option("--log-every", a.log_every, log_help)->check(kPositive)->capture_default_str();
  sub->add_option("--preview-every", a.preview_every, preview_help)
      ->check(kNonNegative)
      ->capture_default_str();
}

RunResult drive_training(TrainingTask& task, torch::nn::Module& model, const RunOptions& options,
                         int64_t start, const std::string& label, const Parallel& parallel) {
  Progress progress(label, options.steps, "step", parallel.primary());
  progress.update(start);
  RunCallbacks cb;
  cb.stop_requested = stop_request(parallel);
  cb.on_step = [&](int64_t done, double loss) {
    progress.update(done, std::isnan(loss) ? "" : fmt::format("loss {:.4f}", loss));
  };
  cb.on_event = [](const std::string& e) { spdlog::debug("{}", e); };
  cb.on_metrics = [](const nlohmann::json& j) { spdlog::debug("metrics {}", j.dump()); };
  const auto result = run_training(task, options, start, cb);
  progress.finish();
  if (parallel.group) {
    const double diff = parallel.group->max_difference_to_rank0(model);
    DDIM_CHECK(diff == 0, "rank {}: the processes' weights differ by {} after training",
               parallel.group->rank(), diff);
    spdlog::info("the {} processes hold identical weights", parallel.group->world_size());
  }
  return result;
}

int report_stopped(const RunResult& result, const std::string& resume_command, const std::string& dir) {
  const int signal = stop_signal();
  spdlog::warn(
      "stopped{} at step {}; checkpoint {}{}",
      signal ? fmt::format(" by signal {}", signal) : std::string(" (another process was signalled)"),
      result.step, result.checkpoint,
      resume_command.empty() ? "" : fmt::format("; continue with: ddim {} --resume {}", resume_command, dir));
  return 128 + (signal ? signal : SIGTERM);
}

}  // namespace ddim::cli
