// Batch normalisation in training mode, without a learnt scale or shift: the norm of the paper's
// residual block (keras BatchNormalization(center=False, scale=False)), per channel over the
// batch and the image plane,
//   y = (x - mean) / sqrt(var + eps),
// with the running statistics updated as torch::nn::BatchNorm2d does (running = (1 - momentum)
// running + momentum batch, the variance unbiased).
//
// LibTorch 1.13's kernels make several passes for it and are slow in bf16 (issue 41's profile of
// a bf16 training step: 37 ms of 400, for 14 norms). ddim's kernels read channels-last data as
// rows of channels and make two passes each way, in fp32 arithmetic:
//   forward:  the channels' sums of (x - k) and (x - k)^2 (k the first pixel, so that a large
//             mean does not cancel the variance away), then y;
//   backward: the sums of dy and dy (x - mean), then
//             dx = a (dy - mean(dy)) - a^3 (x - mean) mean(dy (x - mean)),  a = 1 / sqrt(var + eps)
//             (the derivative of the normalisation through the batch's own mean and variance).
// The sums are taken over fixed blocks of pixels and added up in double in a fixed order: the
// same bits on any number of threads.
#pragma once

#include <torch/torch.h>

namespace ddim {

/// The affine-free batch norm of x [B, C, H, W] in training mode, differentiable in x (twice,
/// through LibTorch's operations for the second derivative). Updates running_mean and
/// running_var (fp32, [C]) in place. fp32 and bf16 channels-last tensors on the CPU run ddim's
/// kernels (AVX-512 or AVX2, chosen at run time); anything else runs torch::batch_norm.
torch::Tensor batch_norm_training(const torch::Tensor& x, const torch::Tensor& running_mean,
                                  const torch::Tensor& running_var, double momentum, double eps);

/// True when batch_norm_training(x, ...) runs ddim's kernels for this tensor.
bool batch_norm_kernel_applies(const torch::Tensor& x);

}  // namespace ddim
