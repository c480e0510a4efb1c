// DiffuseGAE (Leng et al. 2023, "DiffuseGAE: Controllable and High-fidelity Image
// Manipulation from Disentangled Representation"): a group-supervised autoencoder (GAE) on a
// diffusion autoencoder's semantic code. The GAE encodes z_sem into z_dis, whose dimensions
// are divided among the data's attributes (a Partition); its decoder maps z_dis back to
// z_sem-hat, which conditions the Diff-AE's decoder (its Fig. 1). Editing is replacing parts:
// swapping the `font` part of z_dis between two images swaps their fonts.
//
//   z_sem --E--> z_dis = [letter | font | ... | rest] --D--> z_sem-hat --> DDIM decoder
////
// The parts live where their layers are: the partition of z_dis in ddim/nn/partition.h, the
// GAE network in ddim/nn/gae.h, GROUP sampling in ddim/data/group_sampler.h and the losses in
// ddim/training/gae_losses.h. Here: the DiffuseGAE model, its checkpoints, and codes divided
// among attributes (PartitionedModel).
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "ddim/data/attributes.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/gae.h"
#include "ddim/nn/network.h"
#include "ddim/nn/partition.h"

namespace ddim {

/// A diffusion autoencoder conditioned through a GAE: condition(x0) is z_sem-hat =
/// D(E(Enc(x0))), so that every sampler, inverter and embedding of a Diff-AE runs through the
/// GAE unchanged (`ddim reconstruct`, `interpolate`, `encode` on a GAE model).
class DiffuseGAE : public EpsNetwork {
 public:
  DiffuseGAE(std::shared_ptr<EpsNetwork> autoencoder, std::shared_ptr<Gae> gae);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_variance,
                        const torch::Tensor& cond = {}) override {
    return autoencoder_->forward(x, noise_variance, cond);
  }
  /// z_sem-hat of clean standardised images [B, C, H, W].
  torch::Tensor condition(const torch::Tensor& x0) override;
  /// z_dis of clean standardised images.
  torch::Tensor codes(const torch::Tensor& x0);
  /// {"kind": "diffuse-gae", "autoencoder": ..., "gae": ...} (not rebuilt by make_network:
  /// load_gae reads a GAE checkpoint).
  nlohmann::json describe() const override;
  int64_t cond_dim() const override { return autoencoder_->cond_dim(); }
  Conditioning conditioning() const override { return Conditioning::Semantic; }
  void set_channels_last(bool on) override { autoencoder_->set_channels_last(on); }
  EpsNetwork& autoencoder() { return *autoencoder_; }
  Gae& gae() { return *gae_; }

 private:
  std::shared_ptr<EpsNetwork> autoencoder_;
  std::shared_ptr<Gae> gae_;
};

/// The Diff-AE a GAE belongs to.
struct AutoencoderRef {
  std::string path;
  std::string fingerprint;  ///< denoiser_fingerprint of the Diff-AE checkpoint it started from
  int64_t step = 0;
  bool finetuned = false;  ///< the checkpoint carries fine-tuned Diff-AE weights (eq. 12)
  nlohmann::json to_json() const;
  static AutoencoderRef from_json(const nlohmann::json& j);
};

/// A trained DiffuseGAE, as a checkpoint of kind "gae" holds it. The checkpoint carries the
/// Diff-AE's weights (frozen post hoc, fine-tuned after eq. 12), so that it rebuilds the whole
/// model alone.
struct GaeModel {
  Denoiser denoiser;         ///< network() is a DiffuseGAE: decodes through z_sem-hat
  Denoiser autoencoder;      ///< the plain Diff-AE (the same weights, conditioned on z_sem)
  std::shared_ptr<Gae> gae;  ///< eval mode, no gradients
  Partition partition;
  AutoencoderRef reference;
  std::vector<Attribute> attributes;  ///< the training data's attributes: names and value names (no labels)
};

/// Rebuilds a GAE model from a checkpoint of kind "gae", in eval mode on the CPU; `weights`
/// picks the EMA or raw weights of the GAE (and of a fine-tuned Diff-AE).
GaeModel gae_from_checkpoint(const Checkpoint& ck, const std::string& what, Weights weights = Weights::EMA);

/// The Diff-AE that a GAE checkpoint carries, as a checkpoint of kind "denoiser" (its metadata, its weights
/// as "ema"): post hoc (eq. 11) the Diff-AE the GAE was trained on, bit for bit; fine-tuned (eq. 12) the
/// Diff-AE after it (`weights` Raw: its raw training weights where the file keeps them). Every Diff-AE
/// command loads it, so a shipped GAE need not ship its Diff-AE beside it.
Checkpoint autoencoder_checkpoint(const Checkpoint& gae, const std::string& what,
                                  Weights weights = Weights::EMA);
GaeModel load_gae(const std::string& path, Weights weights = Weights::EMA);

/// A diffusion autoencoder's code divided among attributes: z_dis of a DiffuseGAE model, or
/// z_sem itself of a plain Diff-AE (the paper's baseline). What swapping, attribute
/// interpolation and the disentanglement analysis work on.
class PartitionedModel {
 public:
  /// A GAE model with its own partition.
  explicit PartitionedModel(const GaeModel& model);
  /// A plain diffusion autoencoder whose z_sem is divided by `partition` (its dim must be
  /// z_sem's). Throws ddim::InvalidArgument for a model without a semantic code.
  PartitionedModel(const Denoiser& autoencoder, const Partition& partition);

  /// The model that decodes: conditioned on z_sem-hat (GAE) or z_sem.
  const Denoiser& denoiser() const { return denoiser_; }
  const Partition& partition() const { return partition_; }
  bool is_gae() const { return gae_ != nullptr; }
  /// Codes [N, partition().dim()] of images [N, C, H, W] in [0, 1], on the CPU.
  torch::Tensor encode(const torch::Tensor& images, int64_t batch = 256) const;
  /// The decoder's condition for codes [N, dim]: z_sem-hat = D(codes), or the codes; CPU.
  torch::Tensor condition(const torch::Tensor& codes) const;
  /// "DiffuseGAE (z_dis)" or "Diff-AE (z_sem)", for titles.
  std::string describe() const;

 private:
  Denoiser denoiser_;
  Partition partition_;
  std::shared_ptr<Gae> gae_;
  std::shared_ptr<EpsNetwork> autoencoder_;  ///< the Diff-AE network whose condition() is z_sem
};

}  // namespace ddim
