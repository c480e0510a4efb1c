// Paths between seeds (seed paper section 5.3, Fig. 19; Diff-AE section 4 uses slerp for x_T),
// and interpolation between two images through their seeds.
#pragma once

#include <torch/torch.h>

#include <string>

#include "ddim/core/names.h"
#include "ddim/methods/embedding.h"
#include "ddim/metrics/metrics.h"

namespace ddim {

enum class Interpolation { Lerp, Slerp };
/// "lerp", "slerp".
DDIM_NAMED_ENUM(Interpolation);

/// `frames` points from a to b (both included), [frames, *a.shape]:
///  lerp:  (1 - l) a + l b;
///  slerp: (sin((1 - l) w) a + sin(l w) b) / sin(w), w the angle between a and b (flattened);
///         lerp when they are (anti)parallel.
torch::Tensor interpolate_seeds(const torch::Tensor& a, const torch::Tensor& b, int64_t frames,
                                Interpolation mode);

/// One point at fraction l.
torch::Tensor interpolate_seed(const torch::Tensor& a, const torch::Tensor& b, double l, Interpolation mode);

/// Two images embedded, their seeds interpolated, the path generated (Fig. 19), beside the
/// pixel-space blend. A diffusion autoencoder interpolates its semantic codes linearly
/// (Diff-AE section 5.2) and its x_T with `mode`.
struct ImageInterpolation {
  torch::Tensor seeds;               ///< [F, *shape] the path
  torch::Tensor codes;               ///< [F, d] an autoencoder's codes along the path; else undefined
  torch::Tensor frames;              ///< [F, C, H, W] in [0, 1], padding cropped
  torch::Tensor blend;               ///< [F, C, H, W] the pixel-space blend of the two images
  ReconstructionReport ends;         ///< the end frames against the images
  torch::Tensor frame_to_frame_mse;  ///< float64 [F - 1]: even steps make a smooth path
};

/// ends: [2, C, H, W] in [0, 1], the model's shape. Seeds by `embedding` (embedder for its
/// embedder method); frames generated deterministically along its grid.
ImageInterpolation interpolate_images(const Denoiser& denoiser, const torch::Tensor& ends, int64_t frames,
                                      Interpolation mode, const EmbedOptions& embedding,
                                      Embedder* embedder = nullptr);

}  // namespace ddim
