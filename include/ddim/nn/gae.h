// The group-supervised autoencoder (GAE) of DiffuseGAE (Leng et al. 2023) as a network: z_sem
// --E--> z_dis --D--> z_sem-hat. See ddim/methods/gae.h for the model it belongs to and
// ddim/training/gae_losses.h for how it learns.
//
// The GAE (its section 3.4): encoder and decoder each an input map, four MLP blocks and two
// bottleneck blocks, all residual (skip) blocks, so the last block is a skip as the paper
// requires, then an output map. The encoder normalises with LayerNorm, the decoder with
// GroupNorm: neither uses batch statistics, so every code is encoded on its own (swaps do not
// depend on the batch) and data-parallel training needs no synchronised norms. SiLU throughout.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "ddim/core/fields.h"

#include <cstdint>
#include <memory>

namespace ddim {

struct GaeOptions {
  int64_t z_dim = 64;             ///< size of z_sem (the encoder's input, the decoder's output)
  int64_t dis_dim = 64;           ///< size of z_dis (the partition's total)
  int64_t width = 256;            ///< hidden width of the blocks
  int64_t mlp_blocks = 4;         ///< residual MLP blocks in each of encoder and decoder
  int64_t bottleneck_blocks = 2;  ///< residual bottleneck blocks after them
  int64_t bottleneck_ratio = 4;   ///< a bottleneck narrows the width by this factor
  int64_t groups = 8;             ///< the decoder's GroupNorm groups

  nlohmann::json to_json() const;
  static GaeOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field.required("z_dim", self.z_dim);
    field.required("dis_dim", self.dis_dim);
    field("width", self.width);
    field("mlp_blocks", self.mlp_blocks);
    field("bottleneck_blocks", self.bottleneck_blocks);
    field("bottleneck_ratio", self.bottleneck_ratio);
    field("groups", self.groups);
  }
  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
};

class GaeCoder;  // one half of the GAE (src/nn/gae.cpp)

/// The group-supervised autoencoder. It stores the mean and standard deviation of the codes it
/// was trained on and works in those standardised units inside.
class Gae : public torch::nn::Module {
 public:
  explicit Gae(const GaeOptions& options);
  /// Sets the statistics of z_sem from codes [N, z_dim] (constant dimensions get std 1).
  void set_statistics(const torch::Tensor& codes);
  /// While on and in training mode, standardize() uses the mean and standard deviation of the
  /// batch it is given (N >= 2; gradients flow through them, so that scaling z_sem changes
  /// nothing) and folds them into the stored statistics as a running average with weight
  /// `momentum`, which decode() and eval mode use: batch normalisation of z_sem, for
  /// fine-tuning, where z_sem moves (eq. 12). Off by default.
  void track_statistics(bool on, double momentum = 0.01);
  /// z_sem [N, z_dim] -> standardised.
  torch::Tensor standardize(const torch::Tensor& z_sem);
  /// The stored statistics, [z_dim] each.
  const torch::Tensor& z_mean() const { return mean_; }
  const torch::Tensor& z_std() const { return std_; }
  /// z_sem [N, z_dim] -> z_dis [N, dis_dim].
  torch::Tensor encode(const torch::Tensor& z_sem);
  /// Standardised z_sem [N, z_dim] -> z_dis [N, dis_dim].
  torch::Tensor encode_standardized(const torch::Tensor& z);
  /// z_dis [N, dis_dim] -> z_sem-hat [N, z_dim] in standardised units.
  torch::Tensor decode_standardized(const torch::Tensor& z_dis);
  /// z_dis [N, dis_dim] -> z_sem-hat [N, z_dim].
  torch::Tensor decode(const torch::Tensor& z_dis);
  /// D(E(z_sem)).
  torch::Tensor forward(const torch::Tensor& z_sem) { return decode(encode(z_sem)); }
  const GaeOptions& options() const { return options_; }

 private:
  GaeOptions options_;
  std::shared_ptr<GaeCoder> encoder_, decoder_;
  torch::Tensor mean_, std_;
  bool track_ = false;
  double momentum_ = 0.01;
};

}  // namespace ddim
