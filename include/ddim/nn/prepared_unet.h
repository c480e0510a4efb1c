// The prepared inference form of the paper's U-Net (issue 41): what every no-grad use of a
// frozen denoiser runs (sampling, inversion, reconstruction, interpolation, editing, evaluation).
//
// Built once per set of weights, it differs from the plain module in four ways, none of which
// changes the function it computes (beyond float rounding):
//  - each block's eval-mode batch norm, a per-channel map a (x - m), is folded into conv1: its
//    weights are scaled by a, and every activation is *stored shifted* by the mean m of the norm
//    that reads it, so that the zero padding of the 3x3 convolution pads exactly the value the
//    norm maps to zero. The shifts are absorbed into the biases of the convolutions that write
//    them (and of the 1x1 residual convolutions that read them), so no pass over the data is
//    added, and there is no border to correct;
//  - convolutions are oneDNN primitives made once per input shape, their weights reordered
//    once into the layout the kernel wants (not on every call), in channels-last (NHWC) from
//    input to output;
//  - in fp32, the 3x3 convolutions run Winograd's F(2x2, 3x3) where the CPU has AVX2 or AVX-512
//    (nn/winograd.h): 16 multiplications for each 2x2 block of outputs where direct convolution
//    has 36. Direct convolution runs at this machine's matrix-product rate already, so fewer
//    multiplications are what is left;
//  - conv1 + bias + swish is one kernel, and conv2 + bias + residual add is one (the residual
//    is written first, or is the input itself, and conv2 accumulates into it);
//  - no copies of its own: a skip goes into its up block's input as soon as it is written (shifted
//    there for that block's norm), bilinear upsampling writes straight into the concatenation, the
//    identity residual is added in place;
//  - the glue between the convolutions is its own loops, compiled for AVX-512, AVX2 and the
//    baseline: the stem (a 1x1 convolution) with the noise embedding tiled beside it, the skips'
//    shifted copies, upsampling, 2x2 pooling and the head. At batch 1, LibTorch's calls for them
//    cost more than the work;
//  - every activation buffer is allocated once per shape and reused by every later call.
// fp32, and bf16 (under CPU autocast) where the CPU has native bf16 convolutions. UNet::forward takes this
// path by itself when it applies (see `why_not` and UNet::set_prepared); otherwise the plain one runs
// unchanged.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

namespace ddim {

class UNet;
struct UNetOptions;

/// True when this build has the prepared path (oneDNN's headers were found at build time).
bool prepared_inference_built();

class PreparedUNet {
 public:
  /// Why a U-Net of these options is not one the prepared form covers ("" when it is): it covers
  /// the paper's U-Net (batch norm, no attention, no conditioning), with or without the noise
  /// input, on a build with oneDNN (and runs in eval mode only).
  static std::string why_not(const UNetOptions& options);
  /// Folds `net`'s current weights (copies: later changes to the module need a new one).
  /// `winograd`: the fp32 3x3 convolutions by Winograd's F(2x2, 3x3) where this CPU runs its
  /// kernels (nn/winograd.h); otherwise, and in bf16, oneDNN's direct ones.
  /// Throws ddim::InvalidArgument when why_not(net.options()) is not empty.
  explicit PreparedUNet(const UNet& net, bool winograd = true);
  ~PreparedUNet();
  PreparedUNet(const PreparedUNet&) = delete;
  PreparedUNet& operator=(const PreparedUNet&) = delete;

  /// The predicted noise for x [B, C, H, W] (fp32, CPU) and noise variance [B] (one per image;
  /// no embedding input: ignored), computed in fp32 or, with `bf16`, in bf16 (the output is then bf16, as
  /// the plain network's under autocast). Undefined when this CPU has no fast kernel for the
  /// shape and type (oneDNN offers only its reference one): the caller runs the plain path.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_variance, bool bf16);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ddim
