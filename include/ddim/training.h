// The run machinery every trainer shares (denoisers, embedders, Diff-AE, latent DDIM,
// classifiers): the step loop, periodic atomic checkpoints (keeping the last K), metrics as
// JSON lines, periodic pictures, a guard against non-finite losses, and clean stops.
//
// A run directory holds:
//   checkpoints/step-NNNNNNNN.pt  the last K checkpoints
//   model.pt                      the newest checkpoint (what `--model RUN/model.pt` reads)
//   metrics.jsonl                 one JSON object per log point
//   (pictures written by the task's preview)
// Randomness is counter-based (rng.h): step k draws from streams seeded by (seed, k), so a
// run resumed from a checkpoint repeats the uninterrupted run bit for bit on the CPU.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "ddim/checkpoint.h"

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
  /// Writes pictures of the current state into the run directory.
  virtual void preview(const std::string& dir, int64_t step) {}
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
};

struct RunCallbacks {
  /// After every step, with the number of finished steps and the last logged loss (NaN
  /// before the first log point).
  std::function<void(int64_t done, double last_loss)> on_step;
  /// Polled after every step; true makes the run save a checkpoint and stop. Without one the
  /// run polls interrupt_requested() (ddim/interrupt.h). Steps are never cut short; a preview
  /// (which comes after the step's checkpoint) is, and the next poll ends the run.
  std::function<bool()> stop_requested;
  /// Human-readable events (checkpoint written, ...), for the log.
  std::function<void(const std::string&)> on_event;
  /// Each metrics line as it is written.
  std::function<void(const nlohmann::json&)> on_metrics;
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

}  // namespace ddim
