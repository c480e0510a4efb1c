// Training a DiffuseGAE (Leng et al. 2023, section 3.3) with the common run machinery.
//
// Post hoc: the diffusion autoencoder is frozen (its EMA weights, eval mode); the GAE trains on
// the semantic codes of the training images, computed once, with
//   L_dis = L_r + lambda_ss L_ss + lambda_ur L_ur                          (eq. 11)
// on GROUP batches (gae.h): `batch` centres a step, each with one member per attribute part.
// Fine-tuning (after post hoc training): the Diff-AE's encoder and decoder train jointly with
// the GAE on
//   L = L_simple + gamma L_dis                                             (eq. 12)
// where L_simple is the Diff-AE's noise loss (MAE, as ddim trains it) on the centres with the
// decoder conditioned on z_sem-hat = D(E(Enc(x0))), the code it decodes from at inference,
// and L_dis is computed on the codes of the (training) encoder, standardised by each batch's
// statistics (gae.h: with frozen ones the encoder could shrink z_sem to lower L_dis); the
// metrics log z_sem's standard deviation (z_sem_std) to show that it does not. Adam without
// weight decay, as the paper; EMAs of the GAE (and of the fine-tuned Diff-AE) are what
// checkpoints sample with.
//
// The checkpoint (kind "gae") names the Diff-AE it started from (path, fingerprint, step) and
// carries its weights: the frozen ones post hoc, the fine-tuned EMA and raw ones after eq. 12,
// so that `load_gae` rebuilds the whole model from the one file.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "ddim/core/fields.h"
#include "ddim/data/dataset.h"
#include "ddim/data/group_sampler.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/methods/gae.h"
#include "ddim/training/distributed.h"
#include "ddim/training/gae_losses.h"
#include "ddim/training/training.h"

namespace ddim {

struct GaeTrainOptions {
  int64_t batch = 256;     ///< GROUP centres a step (each brings a member per attribute part)
  double lr = 1e-3;        ///< Adam (the paper: 4e-5 post hoc, 1e-5 fine-tuning, on far longer runs)
  GaeLossWeights weights;  ///< lambda_ss, lambda_ur of eq. 11
  double gamma = 1.0;      ///< fine-tuning: the weight of L_dis in eq. 12
  bool finetune = false;   ///< train the Diff-AE jointly (eq. 12); otherwise it stays frozen
  Loss loss = Loss::MAE;   ///< the distance of every loss
  double ema_decay = 0.999;
  bool ema_warmup = true;  ///< ramp the EMA decay as (1 + k)/(10 + k) early on
  int64_t validation_groups = 64;
  int64_t preview_images = 6;  ///< sources in the preview's swap picture (0: none)
  int64_t preview_steps = 10;  ///< DDIM steps of the preview
  bool bf16 = false;           ///< fine-tuning: the Diff-AE under bf16 autocast
  uint64_t seed = 0;

  nlohmann::json to_json() const;
  static GaeTrainOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("batch", self.batch);
    field("lr", self.lr);
    field("lambda_ss", self.weights.lambda_ss);
    field("lambda_ur", self.weights.lambda_ur);
    field("gamma", self.gamma);
    field("finetune", self.finetune);
    field("loss", self.loss);
    field("ema_decay", self.ema_decay);
    field("ema_warmup", self.ema_warmup);
    field("validation_groups", self.validation_groups);
    field("preview_images", self.preview_images);
    field("preview_steps", self.preview_steps);
    field("bf16", self.bf16);
    field("seed", self.seed);
  }
  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
};

/// What a GAE trains on: images with attributes and, post hoc, their semantic codes.
struct GaeData {
  Dataset images;       ///< images [N, C, H, W] with their attributes (post hoc: may hold no images)
  torch::Tensor codes;  ///< post hoc: z_sem [N, z_dim] under the frozen encoder; else undefined
  int64_t size() const { return codes.defined() ? codes.size(0) : images.size(); }
};

/// The data of a GAE run from `data` (which must carry attributes): with `codes` also their
/// semantic codes under the autoencoder's encoder, `batch` images at a time.
GaeData gae_data(const Denoiser& autoencoder, const Dataset& data, bool codes, int64_t batch = 256,
                 const ProgressFn& progress = {});

class GaeTrainer : public TrainingTask {
 public:
  /// `autoencoder`: the Diff-AE (its weights are copied; post hoc they stay frozen), `ref` the
  /// checkpoint it came from. `partition` names attributes of `train.images.attributes`.
  /// `validation` (may be null: the training data then) gives fixed groups for the validation
  /// losses and the preview's images. `extra_meta` is stored in checkpoints.
  GaeTrainer(const Denoiser& autoencoder, const AutoencoderRef& ref, const Partition& partition,
             const GaeOptions& arch, const GaeData& train, const GaeData* validation,
             const GaeTrainOptions& options, const torch::Device& device,
             nlohmann::json extra_meta = nlohmann::json::object(), GradientSync* sync = nullptr);

  /// Starts from a trained GAE's weights (model and EMA both), e.g. fine-tuning after post hoc
  /// training. Its partition and architecture must be this trainer's.
  void initialise_from(const GaeModel& trained);

  torch::Tensor step(int64_t step) override;
  nlohmann::json log_values(int64_t step) override;
  double learning_rate(int64_t) const override { return options_.lr; }
  Checkpoint checkpoint(int64_t step) const override;
  void restore(const Checkpoint& checkpoint, const std::string& what) override;
  std::optional<Preview> preview(int64_t step) override;
  int64_t examples_per_step() const override;
  bool writes_files() const override { return sync_ == nullptr || sync_->rank() == 0; }

  int64_t steps_per_epoch() const { return order_.steps_per_epoch(); }
  /// Everything that trains: the GAE, and when fine-tuning the Diff-AE.
  torch::nn::Module& trainable() { return *trainable_; }
  Gae& gae() { return *gae_; }

 private:
  /// Semantic codes of examples `indices` under the training (or EMA) encoder.
  torch::Tensor codes_of(const torch::Tensor& indices, const GaeData& data, bool ema);
  GaeLosses validation_losses();

  GaeTrainOptions options_;
  torch::Device device_;
  AutoencoderRef ref_;
  Partition partition_;
  GaeOptions arch_;
  GaeData train_, validation_;
  nlohmann::json autoencoder_description_;
  ScheduleOptions schedule_options_;
  Schedule schedule_;
  Standardizer stats_;
  DataInfo info_;
  std::shared_ptr<EpsNetwork> ae_, ae_ema_;  ///< ae_ trains when fine-tuning; ae_ema_ samples
  std::shared_ptr<Gae> gae_, gae_ema_;
  std::shared_ptr<torch::nn::Module> trainable_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  nlohmann::json extra_meta_;
  GradientSync* sync_;
  EpochOrder order_;
  GroupSampler sampler_;
  torch::Tensor valid_centres_, valid_members_, valid_sources_;
  GaeLosses last_;  ///< the last step's losses (for the metrics line)
  torch::Tensor last_simple_;
  torch::Tensor last_z_std_,
      valid_z_std_;  ///< z_sem's standard deviation: the last step's centres, validation's
};

}  // namespace ddim
