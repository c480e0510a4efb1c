#include "common/training_run.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <csignal>

#include "common/options.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/run_dir.h"
#include "ddim/core/error.h"
#include "ddim/io/image.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"
#include "ddim/pictures/plot.h"

namespace ddim::cli {

void add_run_options(CLI::App* sub, RunArgs& a, const std::string& log_help,
                     const std::string& preview_help) {
  auto& o = a.options;
  sub->add_option(
         "--dist-timeout", a.dist_timeout,
         "Data-parallel runs (torchrun, srun): seconds any process waits for the others before giving up")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--checkpoint-every", o.checkpoint_every, "Steps between checkpoints")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--keep", o.keep, "Checkpoints to keep")->check(kPositive)->capture_default_str();
  sub->add_option("--log-every", o.log_every, log_help)->check(kPositive)->capture_default_str();
  sub->add_option("--preview-every", o.preview_every, preview_help)
      ->check(kNonNegative)
      ->capture_default_str();
}

void write_preview(const std::string& dir, int64_t step, const Preview& p) {
  const auto history = fmt::format("{}/previews/{}-step-{:08d}.png", dir, p.name, step);
  if (p.points.defined()) {
    PlotOptions o;
    o.title = p.title;
    o.equal_axes = true;
    o.limits = p.limits;
    optional_chart([&] {
      plot_xy(dir + "/" + p.name + ".png",
              {Series::points("data", p.data.select(1, 0), p.data.select(1, 1)),
               Series::points("samples", p.points.select(1, 0), p.points.select(1, 1))},
              o);
    });
    return;
  }
  torch::Tensor picture;
  if (p.row_labels.empty()) {
    picture = make_grid(torch::cat(p.rows), p.columns > 0 ? p.columns : p.rows.front().size(0));
  } else {
    LabeledRowsOptions lo;
    lo.title = p.title;
    picture = labeled_rows(p.rows, p.row_labels, p.captions, lo);
  }
  write_png(history, picture);
  write_png(dir + "/" + p.name + ".png", picture);
}

RunResult drive_training(TrainingTask& task, torch::nn::Module& model, const RunOptions& options,
                         int64_t start, const std::string& label, const Parallel& parallel) {
  Progress progress(label, options.steps, "step", parallel.primary(), start);
  RunCallbacks cb;
  cb.stop_requested = stop_request(parallel);
  cb.on_step = [&](int64_t done, double loss) {
    progress.update(done, std::isnan(loss) ? "" : fmt::format("loss {:.4f}", loss));
  };
  cb.on_event = [](const std::string& e) { spdlog::debug("{}", e); };
  cb.on_metrics = [](const nlohmann::json& j) { spdlog::debug("metrics {}", j.dump()); };
  cb.on_preview = [&](int64_t step, const Preview& p) { write_preview(options.dir, step, p); };
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

void report_finished(const RunResult& result, const std::string& dir, const std::string& what) {
  spdlog::info("done: {} steps in {}; {} {}/model.pt, metrics {}/metrics.jsonl", result.step,
               format_duration(result.seconds), what, dir, dir);
}

}  // namespace ddim::cli
