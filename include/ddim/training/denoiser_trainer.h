// Training a denoiser (seed paper Algorithm 1, with the authors' choices): t ~ U(0, 1),
// x_t = s(t) x_0 + n(t) eps on standardised data, loss = MAE (or MSE) between eps and the
// network's prediction from (x_t, n(t)^2); AdamW (lr 1e-3, weight decay 1e-4); an EMA of
// weights and BatchNorm statistics (decay 0.999) that previews and checkpoints sample with.
// A class-conditional network sees each example's class label, replaced by the null class
// with probability cond_drop, so that one network learns both eps(x, c) and eps(x, ∅) for
// classifier-free guidance; a diffusion autoencoder sees the semantic code of the clean image.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "ddim/core/fields.h"
#include "ddim/data/dataset.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/nn/loss.h"
#include "ddim/training/distributed.h"
#include "ddim/training/training.h"

namespace ddim {

struct DenoiserTrainOptions {
  int64_t batch = 64;
  double lr = 1e-3;
  double weight_decay = 1e-4;
  Loss loss = Loss::MAE;
  double ema_decay = 0.999;
  /// Ramp the EMA decay as min(decay, (1 + k)/(10 + k)) at step k (TensorFlow's
  /// ExponentialMovingAverage with num_updates), so that short runs do not sample with a
  /// network that is still mostly its zero-initialised start. The paper's code uses the
  /// fixed decay from the first step (false).
  bool ema_warmup = true;
  int64_t warmup = 0;      ///< steps of linear learning-rate warm-up
  double grad_clip = 0.0;  ///< clip the gradient norm to this (0: off)
  int64_t preview_samples = 64;
  int64_t preview_steps = 10;  ///< DDIM steps of the preview grid (the paper's S)
  bool bf16 = false;           ///< bf16 autocast (GPUs; CPUs with AVX512-BF16 or AMX)
  /// Class-conditional networks: the probability that a training example's label is replaced
  /// by the null class ∅ (classifier-free guidance training, Ho & Salimans 2022, Alg. 1).
  double cond_drop = 0.1;
  uint64_t seed = 0;

  nlohmann::json to_json() const;
  static DenoiserTrainOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("batch", self.batch);
    field("lr", self.lr);
    field("weight_decay", self.weight_decay);
    field("loss", self.loss);
    field("ema_decay", self.ema_decay);
    field("ema_warmup", self.ema_warmup);
    field("warmup", self.warmup);
    field("grad_clip", self.grad_clip);
    field("preview_samples", self.preview_samples);
    field("preview_steps", self.preview_steps);
    field("bf16", self.bf16);
    field("cond_drop", self.cond_drop);
    field("seed", self.seed);
  }
  void validate() const;
};

/// Classifier-free guidance training (Ho & Salimans 2022, Algorithm 1): each label replaced by
/// -1, the null class ∅ (network.h's class_condition), with probability p, by draws from `gen`.
torch::Tensor drop_labels(const torch::Tensor& labels, double p, at::Generator& gen);

class DenoiserTrainer : public TrainingTask {
 public:
  /// `arch`: a network description (make_network). `train` is the data (moved to `device`);
  /// `validation` (may be null) gives a fixed batch for the EMA model's validation loss.
  /// `extra_meta` is stored in checkpoints (e.g. the data options, to reload the data).
  DenoiserTrainer(const nlohmann::json& arch, const ScheduleOptions& schedule, const Dataset& train,
                  const Dataset* validation, const DenoiserTrainOptions& options, const torch::Device& device,
                  nlohmann::json extra_meta = nlohmann::json::object(), GradientSync* sync = nullptr);

  torch::Tensor step(int64_t step) override;
  nlohmann::json log_values(int64_t step) override;
  double learning_rate(int64_t step) const override;
  Checkpoint checkpoint(int64_t step) const override;
  void restore(const Checkpoint& checkpoint, const std::string& what) override;
  std::optional<Preview> preview(int64_t step) override;
  int64_t examples_per_step() const override;

  /// Starts from a trained denoiser's weights instead of the seeded initialisation (call before
  /// the first step): fine-tuning on other data, or continuing a released model (which keeps
  /// only its EMA weights) with a fresh optimiser. Both the trained and the EMA network take
  /// `from`'s weights, and the data are standardised with `from`'s statistics, which its
  /// weights were trained on. The network must be built as `from`'s (same description); the
  /// data must have its shape. Checkpoints record `what` under "init".
  void warm_start(const Denoiser& from, const std::string& what);
  bool writes_files() const override { return sync_ == nullptr || sync_->rank() == 0; }

  /// Steps in one pass over the data (the batch drops the remainder).
  int64_t steps_per_epoch() const { return order_.steps_per_epoch(); }
  /// The EMA network as a denoiser (shares the weights).
  Denoiser ema_denoiser() const;
  EpsNetwork& model() { return *model_; }

 private:
  DenoiserTrainOptions options_;
  torch::Device device_;
  Dataset data_;
  std::shared_ptr<EpsNetwork> model_, ema_;
  ScheduleOptions schedule_options_;
  Schedule schedule_;
  Standardizer stats_;
  DataInfo data_info_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  nlohmann::json extra_meta_;
  GradientSync* sync_;
  EpochOrder order_;
  // A fixed validation batch: data (in data units and standardised), times and noise.
  torch::Tensor valid_raw_, valid_x0_, valid_t_, valid_eps_, valid_cond_;
  /// The condition of training examples `indices` (this process's share of the step's batch):
  /// their class labels, some dropped to ∅, or a Diff-AE's semantic codes of x0.
  torch::Tensor condition(int64_t step, const torch::Tensor& indices, const torch::Tensor& x0);
  Preview class_preview(int64_t step);
  /// Standardises the data with `stats` from now on (the validation batch too).
  void set_stats(Standardizer stats);
};

}  // namespace ddim
