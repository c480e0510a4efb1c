// Building blocks of the U-Nets: the residual block of the paper's denoiser (with its
// optional GroupNorm, dropout and AdaGN conditioning) and spatial self-attention. The
// denoiser, the embedding U-Net and Diff-AE's semantic encoder share them.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <vector>

#include "ddim/core/names.h"
#include "ddim/nn/winograd.h"

namespace ddim {

class PreparedUNet;

/// The normalisation of the residual blocks: the paper's affine-free BatchNorm, or GroupNorm.
enum class NormKind { Batch, Group };
/// "batch", "group".
DDIM_NAMED_ENUM(NormKind);

/// Norm + 3x3 conv + swish [+ dropout] + 3x3 conv, plus the residual (1x1 conv when the
/// width changes). With `mod_dim` > 0 the norm is AdaGN (Diff-AE eq. 7):
/// h = z_s (t_s GroupNorm(h) + t_b), where [t_s - 1, t_b] = Linear(temb) and
/// z_s - 1 = Linear(cond), both zero-initialised.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in, int64_t out, NormKind norm, int64_t groups, double dropout,
                    int64_t temb_dim = 0, int64_t cond_dim = 0);
  /// x: [B, in, H, W]; temb: [B, temb_dim] and cond: [B, cond_dim] when modulated.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb = {},
                        const torch::Tensor& cond = {});
  /// In eval mode, fold the norm (the default; blocks.cpp): batch norm into conv1, and without
  /// gradients group norm's modulation into its scale and shift; off: the plain path, as in
  /// training, to compare with.
  void set_norm_folding(bool on) { fold_norm_ = on; }

 private:
  friend class PreparedUNet;
  /// Eval mode: the batch norm folded into conv1 (see blocks.cpp).
  torch::Tensor folded_norm_conv1(const torch::Tensor& x);
  /// Eval mode without gradients, group norm: the modulated norm in one kernel
  /// (nn/group_norm.h), conv1 with its swish and conv2 with the residual add fused into
  /// Winograd's convolutions where they apply (see blocks.cpp).
  torch::Tensor modulated_forward(const torch::Tensor& x, const torch::Tensor& temb,
                                  const torch::Tensor& cond);
  bool fold_norm_ = true;
  /// Winograd's transforms of conv1's and conv2's weights for modulated_forward, and what they
  /// were made from (the weights' addresses and versions, and the instruction set).
  struct Transformed {
    std::vector<int64_t> from;
    std::shared_ptr<WinogradConvolution> conv;
  };
  Transformed transformed_[2];
  /// dst [+]= epilogue(conv(src)) for conv1 or conv2, by Winograd's algorithm where it applies
  /// (its weight transform kept in `t`), else by LibTorch's convolution.
  static torch::Tensor convolve(const torch::nn::Conv2d& conv, Transformed& t, const torch::Tensor& src,
                                WinogradConvolution::Epilogue epilogue, torch::Tensor dst);
  struct Folded {
    std::vector<int64_t> versions;  ///< of the tensors it was made from: a change refolds
    torch::Tensor weight, bias;     ///< conv1's, scaled by the norm, and its bias inside the image
    torch::Tensor shift;            ///< the norm's shift, [in]
    std::map<std::pair<int64_t, int64_t>, torch::Tensor> borders;  ///< the border terms by H x W
  };
  Folded folded_;

  torch::nn::Conv2d residual_{nullptr}, conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d batch_norm_{nullptr};
  torch::nn::GroupNorm group_norm_{nullptr};
  torch::nn::Linear time_mod_{nullptr}, cond_mod_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  int64_t in_, out_;
};
TORCH_MODULE(ResidualBlock);

/// set_norm_folding on every residual block of `network`.
void set_norm_folding(torch::nn::Module& network, bool on);

/// Multi-head self-attention over the H x W positions, with a GroupNorm in front, a
/// zero-initialised output projection and a residual connection (so a fresh block is the
/// identity).
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t channels, int64_t heads, int64_t groups);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Conv2d qkv_{nullptr}, proj_{nullptr};
  int64_t heads_;
};
TORCH_MODULE(SelfAttention);

/// norm(x) in the norm's weights' type when it has weights: LibTorch 1.13's group norm refuses a
/// bf16 input with fp32 weights, which bf16 autocast hands it (the convolution after it casts
/// back to bf16).
torch::Tensor group_norm(torch::nn::GroupNorm& norm, const torch::Tensor& x);

/// The number of GroupNorm groups for `channels`: the largest divisor of `channels` that is
/// at most `groups`.
int64_t group_count(int64_t channels, int64_t groups);

}  // namespace ddim
