// Group normalisation with a per-example scale and shift, for the no-grad passes of the U-Nets
// whose residual blocks use GroupNorm: Diff-AE's decoder and the class-conditional denoisers, whose
// AdaGN (Diff-AE eq. 7)
//   h = z_s (t_s GroupNorm(x) + t_b)
// is one scale z_s t_s and one shift z_s t_b per example and channel, and the plain group-norm
// blocks (Diff-AE's semantic encoder), whose learnt affine map is the same for every example.
//
// LibTorch runs it as the norm and then two or three passes for the modulation; ddim's kernel
// makes two: the channels' sums per example (of x - k, k the first pixel, as nn/batch_norm.h),
// combined into each group's mean and variance in double, and then
//   y = (x - mean_g) / sqrt(var_g + eps) scale + shift.
#pragma once

#include <torch/torch.h>

namespace ddim {

/// GroupNorm(x) scale + shift, x [B, C, H, W], scale and shift [B, C] (either undefined: 1 or 0),
/// with GroupNorm's biased variance and eps. No gradient: for what needs one, compose
/// torch::group_norm with the products. fp32 and bf16 channels-last tensors on the CPU run ddim's
/// kernels (AVX-512 or AVX2, chosen at run time); anything else runs LibTorch's operations.
/// Throws ddim::InvalidArgument when C is not a multiple of `groups` or a shape does not match.
torch::Tensor modulated_group_norm(const torch::Tensor& x, int64_t groups, double eps,
                                   const torch::Tensor& scale, const torch::Tensor& shift);

/// True when modulated_group_norm(x, ...) runs ddim's kernels for this tensor.
bool group_norm_kernel_applies(const torch::Tensor& x);

}  // namespace ddim
