// Reconstruction quality, in one layout for every command that reports it:
//   {"mean": {"mse": .., "psnr": .., "ssim": ..}, "per_image": [{"mse": .., "psnr": .., "ssim": ..}, ...]}
// Images are in [0, 1]. MSE is the mean over pixels and channels; PSNR = 10 log10(1 / MSE)
// (capped at 100 dB for exact reconstructions, since JSON has no infinity); SSIM is Wang et al.
// 2004 with an 11x11 Gaussian window (sigma 1.5; smaller for smaller images), K1 0.01,
// K2 0.03, averaged over channels.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

namespace ddim {

/// Per-image MSE of [N, ...] pairs -> [N].
torch::Tensor mse_per_image(const torch::Tensor& a, const torch::Tensor& b);
/// Per-image PSNR in dB for images in [0, 1] -> [N].
torch::Tensor psnr_per_image(const torch::Tensor& a, const torch::Tensor& b);
/// Per-image SSIM of [N, C, H, W] pairs in [0, 1] -> [N].
torch::Tensor ssim_per_image(const torch::Tensor& a, const torch::Tensor& b);

struct ReconstructionReport {
  torch::Tensor mse, psnr, ssim;  ///< [N] each (ssim undefined for non-images)

  static ReconstructionReport compute(const torch::Tensor& originals, const torch::Tensor& reconstructions);
  double mean_mse() const { return mse.mean().item<double>(); }
  /// The shared JSON layout (see above); `extra` is merged into the top level.
  nlohmann::ordered_json to_json(const nlohmann::ordered_json& extra = {}) const;
};

}  // namespace ddim
