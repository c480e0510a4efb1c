// Training an embedding network (seed paper section 5.2, with the authors' choices): the
// frozen EMA denoiser in eval mode; loss = MAE (or MSE) in [0, 1] between the image and the
// clipped, de-standardised S-step DDIM output of E(x), gradients through all S unrolled
// steps (optionally checkpointed per step); Adam, lr 1e-4. The checkpoint (kind "embedder")
// names the denoiser it was trained against by fingerprint, and ddim refuses to pair it
// with another one unless forced.
#pragma once

#include <memory>

#include "ddim/core/fields.h"
#include "ddim/data/dataset.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/methods/trained_embedder.h"
#include "ddim/nn/embedder.h"
#include "ddim/nn/loss.h"
#include "ddim/training/denoiser_trainer.h"
#include "ddim/training/training.h"

namespace ddim {

struct EmbedderTrainOptions {
  int64_t batch = 64;
  double lr = 1e-4;
  Loss loss = Loss::MAE;
  int64_t steps = 10;          ///< S of the unrolled sampler
  bool checkpointing = false;  ///< per-step gradient checkpointing
  bool bf16 = false;
  int64_t preview_images = 8;
  int64_t validation_images = 64;
  uint64_t seed = 0;

  nlohmann::json to_json() const;
  static EmbedderTrainOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("batch", self.batch);
    field("lr", self.lr);
    field("loss", self.loss);
    field("steps", self.steps);
    field("checkpointing", self.checkpointing);
    field("bf16", self.bf16);
    field("preview_images", self.preview_images);
    field("validation_images", self.validation_images);
    field("seed", self.seed);
  }
};

class EmbedderTrainer : public TrainingTask {
 public:
  EmbedderTrainer(const Denoiser& denoiser, const DenoiserRef& ref, const EmbedderOptions& arch,
                  const Dataset& train, const Dataset* validation, const EmbedderTrainOptions& options,
                  const torch::Device& device, nlohmann::json extra_meta = nlohmann::json::object(),
                  GradientSync* sync = nullptr);

  torch::Tensor step(int64_t step) override;
  nlohmann::json log_values(int64_t step) override;
  double learning_rate(int64_t) const override { return options_.lr; }
  Checkpoint checkpoint(int64_t step) const override;
  void restore(const Checkpoint& checkpoint, const std::string& what) override;
  std::optional<Preview> preview(int64_t step) override;
  int64_t examples_per_step() const override { return options_.batch * (sync_ ? sync_->world_size() : 1); }
  bool writes_files() const override { return sync_ == nullptr || sync_->rank() == 0; }
  int64_t steps_per_epoch() const { return order_.steps_per_epoch(); }
  Embedder& embedder() { return *embedder_; }

 private:
  /// images in [0, 1] -> (seeds, reconstructions in [0, 1]) through the frozen denoiser.
  std::pair<torch::Tensor, torch::Tensor> reconstruct(const torch::Tensor& images, bool differentiable);

  Denoiser denoiser_;
  DenoiserRef ref_;
  EmbedderTrainOptions options_;
  torch::Device device_;
  Dataset data_;
  std::shared_ptr<Embedder> embedder_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  TimeGrid grid_;
  nlohmann::json extra_meta_;
  GradientSync* sync_;
  EpochOrder order_;
  torch::Tensor valid_images_;
};

}  // namespace ddim
