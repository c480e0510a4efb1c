// Whole-data-set operations on a denoiser, streamed in batches so that thousands of images
// fit in memory: generating images from seeds, inverting images to seeds, and fitting
// user images to a model's input shape.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"

namespace ddim {

/// Called with the number of examples finished so far.
using ProgressFn = std::function<void(int64_t done)>;

/// n seeds [n, *data.shape], standard normal, drawn from `seed` (rng.h's generator): the seeds
/// `ddim sample --seed`, `decode`, `eval` and `analyze` draw, so a library user gets the same.
torch::Tensor random_seeds(const DataInfo& data, int64_t n, uint64_t seed);

/// Seeds [N, ...] (standard normal, model shape) -> data in data units (images in [0, 1],
/// clipped), by DDIM along `grid`, `batch` at a time on the denoiser's device. Results are on
/// the CPU. `cond` conditions a conditional network per example ([N, d]; with guidance for a
/// class-conditional one).
torch::Tensor generate(const Denoiser& denoiser, const torch::Tensor& seeds, const TimeGrid& grid,
                       const SampleOptions& options, int64_t batch, const ProgressFn& progress = {},
                       const Condition& cond = {});

/// Data [N, ...] in data units (images in [0, 1], model shape) -> seeds, by DDIM inversion
/// along `grid`, `batch` at a time. Results are on the CPU.
torch::Tensor invert(const Denoiser& denoiser, const torch::Tensor& data, const TimeGrid& grid,
                     const InvertOptions& options, int64_t batch, const ProgressFn& progress = {},
                     const Condition& cond = {});

/// Fits user images ([C, H, W] in [0, 1], any size and channel count) to a model's input:
/// channels converted (gray <-> RGB as image.h documents); an image of the model's original
/// size (its shape without padding) is zero-padded like the training data; one of the full
/// model size is kept; any other is centre-cropped to a square and resized to the original
/// size, then padded. Returns [N, C, H, W].
torch::Tensor conform_images(const std::vector<torch::Tensor>& images, const DataInfo& model);

}  // namespace ddim
