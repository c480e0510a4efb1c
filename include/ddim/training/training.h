// The run machinery every trainer shares (denoisers, embedders, Diff-AE, latent DDIM,
// classifiers): the step loop, periodic atomic checkpoints (keeping the last K), metrics as
// JSON lines, periodic previews, a guard against non-finite losses, clean stops, and starting
// or resuming a run directory.
//
// A run directory holds:
//   checkpoints/step-NNNNNNNN.pt  the last K checkpoints
//   model.pt                      the newest checkpoint (what `--model RUN/model.pt` reads)
//   metrics.jsonl                 one JSON object per log point
//   (pictures the caller draws from the task's previews)
// Randomness is counter-based (rng.h): step k draws from streams seeded by (seed, k), so a
// run resumed from a checkpoint repeats the uninterrupted run bit for bit on the CPU.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ddim/core/fields.h"
#include "ddim/data/dataset.h"
#include "ddim/io/checkpoint.h"

namespace ddim {

/// Which examples each step reads: epoch e visits the data in the order randperm(seed, e),
/// `batch` examples a step (the remainder of an epoch is dropped). A pure function of the
/// step, so a resumed run reads exactly the batches the uninterrupted run would have read.
/// With several data-parallel processes each step reads a global batch of batch * world
/// examples and process `rank` takes its share.
class EpochOrder {
 public:
  EpochOrder(int64_t examples, int64_t batch, uint64_t seed, int64_t world = 1, int64_t rank = 0);
  /// int64 [batch] indices of this process's examples at `step`.
  torch::Tensor indices(int64_t step);
  int64_t steps_per_epoch() const { return steps_per_epoch_; }

 private:
  int64_t examples_, batch_, world_, rank_, steps_per_epoch_;
  uint64_t seed_;
  int64_t cached_epoch_ = -1;
  torch::Tensor order_;
};

/// What a trainer shows of its current state, for the caller to draw: rows of images (each
/// [N, C, H, W] in [0, 1]) with optional row labels and per-image captions, or, for a model of
/// 2-D points, its samples over the data. The library draws nothing itself.
struct Preview {
  std::string name;   ///< what it shows, a file stem: "samples" (denoisers), "preview" (embedders)
  std::string title;  ///< a line above the picture
  std::vector<torch::Tensor> rows;
  std::vector<std::string> row_labels;             ///< empty: a plain grid
  std::vector<std::vector<std::string>> captions;  ///< [row][image], may be empty
  int64_t columns = 0;                             ///< plain grid: images per line (0: one row each)
  torch::Tensor points;                            ///< 2-D models: samples [N, 2]
  torch::Tensor data;                              ///< 2-D models: data points [M, 2]
  std::vector<double> limits;                      ///< 2-D models: {x_min, x_max, y_min, y_max}
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  /// One optimisation step; returns the loss as a 0-dim tensor on the device (not synced).
  virtual torch::Tensor step(int64_t step) = 0;
  /// Extra values for the metrics line at a log point (e.g. the EMA model's validation loss).
  virtual nlohmann::json log_values(int64_t step) { return nlohmann::json::object(); }
  /// The learning rate at `step`, for the metrics line.
  virtual double learning_rate(int64_t step) const = 0;
  /// Everything needed to continue from `step` (the next step to run).
  virtual Checkpoint checkpoint(int64_t step) const = 0;
  /// Restores a checkpoint written by checkpoint().
  virtual void restore(const Checkpoint& checkpoint, const std::string& what) = 0;
  /// A picture of the current state (none by default).
  virtual std::optional<Preview> preview(int64_t step) { return std::nullopt; }
  /// Examples processed per step (for the rate).
  virtual int64_t examples_per_step() const = 0;
  /// Whether this process writes files (false on data-parallel ranks other than 0).
  virtual bool writes_files() const { return true; }
};

struct RunOptions {
  std::string dir;    ///< run directory
  int64_t steps = 0;  ///< total steps (the run ends when step == steps)
  int64_t checkpoint_every = 1000;
  int64_t keep = 3;  ///< checkpoints kept in checkpoints/
  int64_t log_every = 100;
  int64_t preview_every = 0;  ///< 0: with every checkpoint

  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
  /// {"steps", "checkpoint_every", "keep", "log_every", "preview_every"} (not the directory).
  nlohmann::json to_json() const;
  /// Reads to_json()'s layout over `defaults` (missing keys keep the default's value).
  static RunOptions from_json(const nlohmann::json& j, const RunOptions& defaults);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("steps", self.steps);
    field("checkpoint_every", self.checkpoint_every);
    field("keep", self.keep);
    field("log_every", self.log_every);
    field("preview_every", self.preview_every);
  }
};

struct RunCallbacks {
  /// After every step, with the number of finished steps and the last logged loss (NaN
  /// before the first log point).
  std::function<void(int64_t done, double last_loss)> on_step;
  /// Polled after every step; true makes the run save a checkpoint and stop. Without one the
  /// run polls interrupt_requested() (ddim/core/interrupt.h). Steps are never cut short; a preview
  /// (which comes after the step's checkpoint) is, and the next poll ends the run.
  std::function<bool()> stop_requested;
  /// Human-readable events (checkpoint written, ...), for the log.
  std::function<void(const std::string&)> on_event;
  /// Each metrics line as it is written.
  std::function<void(const nlohmann::json&)> on_metrics;
  /// Each preview, at every preview point after the checkpoint of that step (if any) is
  /// written; only on the process that writes files.
  std::function<void(int64_t step, const Preview&)> on_preview;
};

enum class RunEnd { Finished, Stopped };

struct RunResult {
  RunEnd end = RunEnd::Finished;
  int64_t step = 0;        ///< steps done
  std::string checkpoint;  ///< the last checkpoint written
  double seconds = 0;
};

/// Runs `task` from `start_step` to options.steps. Throws ddim::Error when the loss becomes
/// NaN or infinite; the checkpoints already written stay (none is written after the loss went
/// bad).
RunResult run_training(TrainingTask& task, const RunOptions& options, int64_t start_step,
                       const RunCallbacks& callbacks = {});

/// The newest checkpoint of a run directory (model.pt, else the highest step in
/// checkpoints/). Throws ddim::Error naming the directory when there is none.
std::string latest_checkpoint(const std::string& run_dir);

/// The step checkpoints a run directory keeps (checkpoints/step-NNNNNNNN.pt), as (step, path)
/// in step order; empty when there are none.
std::vector<std::pair<int64_t, std::string>> run_checkpoints(const std::string& run_dir);

/// Where a training command starts: a new run directory, or the newest checkpoint of an
/// existing one, whose metadata then decides everything but the length of the run.
struct RunStart {
  std::string dir;         ///< the run directory
  std::string checkpoint;  ///< the checkpoint resumed from; empty for a new run
  Checkpoint resumed;      ///< its contents (a new run: empty)

  bool resuming() const { return !checkpoint.empty(); }
  /// The step to continue from (0 for a new run).
  int64_t step() const;
  /// The run options stored by the resumed run (meta["run"], see run_meta), or `given`.
  RunOptions run_options(const RunOptions& given) const;
  /// The data the resumed run trained on (meta["data_options"]), or `given`.
  DataSource data(const DataSource& given) const;
  /// meta[key] of the resumed checkpoint; throws ddim::InvalidArgument naming the file and key
  /// when it is absent.
  const nlohmann::json& meta(const std::string& key) const;
  /// parse(meta[key]) of the resumed checkpoint (see meta_parse): a missing key, a value of the
  /// wrong type or one `parse` refuses throws one ddim::InvalidArgument naming the file and key.
  template <class Parse>
  auto parse(const std::string& key, Parse&& parse) const {
    return meta_parse(resumed.meta, key, checkpoint, std::forward<Parse>(parse));
  }
};

/// Opens a run: with `resume_dir`, its newest checkpoint (which must be of `kind`; `out` must be
/// empty or the same directory); otherwise the directory `out`, which must not hold a run yet
/// (checked when `check_new` — on the process that writes files). Creates nothing.
RunStart start_run(const std::string& out, const std::string& resume_dir, const std::string& kind,
                   bool check_new = true);

/// The metadata a trainer stores in its checkpoints so that start_run can resume it:
/// {"data_options": data, "run": run options}.
nlohmann::json run_meta(const DataSource& data, const RunOptions& run);

/// The length of a run: `steps` when given (> 0), else `epochs` passes (> 0) of
/// `steps_per_epoch`, else `fallback`.
int64_t resolve_steps(int64_t steps, int64_t epochs, int64_t steps_per_epoch, int64_t fallback);

}  // namespace ddim
