// Per-channel standardisation of the data, as the paper's code does (a Keras Normalization
// layer adapted on the training images): the network sees (x - mean) / std, and its outputs
// are mapped back with x * std + mean. The statistics are part of every model trained on
// the data, so a checkpoint can de-standardise its own samples.
#pragma once

#include <torch/torch.h>

namespace ddim {

struct Dataset;

struct Standardizer {
  torch::Tensor mean;  ///< float [C] for images, [D] for points
  torch::Tensor std;   ///< float [C] or [D], strictly positive

  /// Statistics of a data set (channels of images, coordinates of points), computed in
  /// double precision in chunks. A constant channel gets std 1.
  static Standardizer fit(const Dataset& data);
  /// Statistics of a float tensor [N, C, ...].
  static Standardizer fit(const torch::Tensor& data);
  /// Identity statistics for `channels` channels (mean 0, std 1).
  static Standardizer identity(int64_t channels);

  /// x: [N, C, ...] in data units (images in [0, 1]) -> standardised.
  torch::Tensor standardize(const torch::Tensor& x) const;
  /// x: [N, C, ...] standardised -> data units (no clipping).
  torch::Tensor destandardize(const torch::Tensor& x) const;
};

}  // namespace ddim
