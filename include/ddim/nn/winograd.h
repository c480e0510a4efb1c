// Winograd's minimal filtering F(2x2, 3x3) for fp32 3x3 convolutions on the CPU: the prepared
// U-Net's and, through conv3x3, the residual blocks' in training (issue 41). Each 2x2 block of
// outputs is computed from the 4x4 block of inputs around it with 16 multiplications per input and
// output channel instead of direct convolution's 36 (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016, eq. 8: Y = A^T [(G g G^T) ⊙ (B^T d B)] A). On a CPU whose
// direct kernels already run at the machine's fp32 matrix-product rate, that is the only way left
// to run them faster: fewer multiplications.
//
// Layout: channels-last (NHWC) activations, as the prepared form keeps them. The transformed
// weights U = G g G^T are made once; each call transforms the input tile by tile, multiplies the
// 16 transformed planes by U as 16 matrix products of [tiles, in] x [in, out], and transforms
// back, a cache-sized block of tiles at a time per thread, so that the transformed data never
// leave the core's cache. The bias and the epilogue (swish, or accumulation into the output for a
// residual add) are applied in the back transform, as oneDNN's post-ops do for the direct kernel.
//
// The transforms' coefficients are 0, ±1 and ±1/2, so the rounding error is a few ulps of the
// sums, as direct convolution's (tested within 1e-5 relative of LibTorch's convolution).
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

namespace ddim {

/// The vector instruction sets the Winograd kernels are compiled for.
enum class SimdLevel { Avx2, Avx512 };

/// The levels this CPU can run, best first (empty: none, and the caller convolves directly).
std::vector<SimdLevel> winograd_simd_levels();

class WinogradConvolution {
 public:
  enum class Epilogue {
    None,        ///< dst = conv(src) + bias
    Swish,       ///< dst = swish(conv(src) + bias)
    Accumulate,  ///< dst += conv(src) + bias (a residual add)
  };
  /// Why a 3x3 convolution from `in` to `out` channels cannot run here ("" when it can): the
  /// CPU has neither AVX2 with FMA nor AVX-512, or `out` is not a multiple of the vector width.
  static std::string why_not(int64_t in, int64_t out, SimdLevel level);
  /// weight [out, in, 3, 3] and bias [out], any float type (transformed in double, kept fp32);
  /// stride 1, zero padding 1. Throws ddim::InvalidArgument when why_not is not empty.
  WinogradConvolution(const torch::Tensor& weight, const torch::Tensor& bias, SimdLevel level);

  /// src [B, in, H, W] and dst [B, out, H, W], fp32, CPU, channels-last, not overlapping.
  void operator()(const torch::Tensor& src, const torch::Tensor& dst, Epilogue epilogue) const;

  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  /// Output tiles below which the prepared U-Net and conv3x3 keep the direct convolution: a batch
  /// of one at 8x8 and 4x4 ran faster direct on the 2-core EPYC (nn/prepared_unet.cpp has the figures).
  static constexpr int64_t kMinTiles = 64;
  /// Input and output channels below which conv3x3 leaves the weights' gradient to LibTorch: with
  /// 16 channels a side the transforms cost about what the products do. On the 2-core EPYC a
  /// U-Net of widths 16-128 trained 10 % slower with Winograd's weight gradients in its 16-channel
  /// layers and as fast as LibTorch without them; the paper's (32-128) 1.08 times as fast.
  static constexpr int64_t kMinGradientChannels = 32;

 private:
  int64_t in_ = 0, out_ = 0;
  SimdLevel level_;
  torch::Tensor u_;     ///< G g G^T, [16, in, out]: one matrix per position of the 4x4 tile
  torch::Tensor bias_;  ///< [out], fp32
};

/// The weights' gradient [out, in, 3, 3] of the 3x3 convolution (stride 1, zero padding 1) of x
/// [B, in, H, W] whose output's gradient is `grad` [B, out, H, W], both fp32 channels-last on the
/// CPU, by Winograd's F(2x2, 3x3): dL/dU = Σ_tiles (A dY A^T) ⊙ (B^T d B), then dL/dg = G^T
/// (dL/dU) G, 16 multiplications a tile and channel pair where the direct kernel has 36. The tiles
/// are summed in fixed chunks, in order: the same bits on any thread count. Throws
/// ddim::InvalidArgument when WinogradConvolution::why_not(in, out, level) is not empty.
torch::Tensor winograd_weight_gradient(const torch::Tensor& x, const torch::Tensor& grad, SimdLevel level);

/// The instruction set Winograd's 3x3 convolution of x into `out` channels runs with here, or
/// nothing where it does not apply: x not fp32 channels-last on the CPU, fewer than kMinTiles tiles,
/// or channels the kernels do not take. What conv3x3 and the prepared U-Net decide by.
std::optional<SimdLevel> winograd_level_for(const torch::Tensor& x, int64_t out);

/// torch::conv2d(x, weight, bias, stride 1, padding 1) of a 3x3 `weight`, differentiable, by
/// Winograd's F(2x2, 3x3) where it applies and by LibTorch's convolution elsewhere. It applies on
/// the CPU to fp32 channels-last input outside autocast, with at least kMinTiles tiles and output
/// channels a multiple of the vector width. The backward pass computes the input's gradient the
/// same way (the convolution of the output's gradient with the weights turned by 180 degrees and
/// transposed), the weights' by winograd_weight_gradient where both channel counts reach
/// kMinGradientChannels, and the bias's as the output gradient's sum. What the residual blocks
/// of every U-Net (nn/blocks.h) train with.
torch::Tensor conv3x3(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace ddim
