#include "ddim/nn/blocks.h"

#include <cmath>

#include "ddim/core/error.h"
#include "ddim/nn/network.h"

namespace ddim {

namespace nn = torch::nn;

template <>
const NameTable<NormKind>& name_table<NormKind>() {
  static const NameTable<NormKind> table{"norm", {{NormKind::Batch, "batch"}, {NormKind::Group, "group"}}};
  return table;
}

int64_t group_count(int64_t channels, int64_t groups) {
  int64_t g = std::max<int64_t>(1, std::min(groups, channels));
  while (channels % g != 0) --g;
  return g;
}

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, NormKind norm, int64_t groups, double dropout,
                                     int64_t temb_dim, int64_t cond_dim)
    : in_(in), out_(out) {
  if (in != out) residual_ = register_module("residual", nn::Conv2d(nn::Conv2dOptions(in, out, 1)));
  const bool modulated = temb_dim > 0 || cond_dim > 0;
  if (norm == NormKind::Batch && !modulated) {
    // Keras BatchNormalization(center=False, scale=False): eps 1e-3, momentum 0.99.
    batch_norm_ = register_module(
        "norm", nn::BatchNorm2d(nn::BatchNormOptions(in).affine(false).eps(1e-3).momentum(0.01)));
  } else {
    group_norm_ = register_module(
        "norm", nn::GroupNorm(nn::GroupNormOptions(group_count(in, groups), in).affine(!modulated)));
  }
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1)));
  if (dropout > 0) dropout_ = register_module("dropout", nn::Dropout(dropout));
  if (temb_dim > 0) {
    time_mod_ = register_module("time_mod", nn::Linear(temb_dim, 2 * in));
    nn::init::zeros_(time_mod_->weight);
    nn::init::zeros_(time_mod_->bias);
  }
  if (cond_dim > 0) {
    cond_mod_ = register_module("cond_mod", nn::Linear(cond_dim, in));
    nn::init::zeros_(cond_mod_->weight);
    nn::init::zeros_(cond_mod_->bias);
  }
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& temb,
                                         const torch::Tensor& cond) {
  auto residual = residual_ ? residual_->forward(x) : x;
  torch::Tensor h;
  if (batch_norm_) {
    h = batch_norm_->forward(x);
  } else {
    h = group_norm_->forward(x);
    // AdaGN (Diff-AE eq. 7): z_s (t_s GN(h) + t_b).
    if (time_mod_) {
      auto ts_tb = time_mod_->forward(temb).view({x.size(0), 2 * in_, 1, 1});
      auto parts = ts_tb.chunk(2, 1);
      h = h * (1 + parts[0]) + parts[1];
    }
    if (cond_mod_ && cond.defined()) h = h * (1 + cond_mod_->forward(cond).view({x.size(0), in_, 1, 1}));
  }
  h = swish(conv1_->forward(h));
  if (dropout_) h = dropout_->forward(h);
  h = conv2_->forward(h);
  return h + residual;
}

SelfAttentionImpl::SelfAttentionImpl(int64_t channels, int64_t heads, int64_t groups) : heads_(heads) {
  DDIM_CHECK_ARG(heads > 0 && channels % heads == 0, "attention: {} channels are not divisible by {} heads",
                 channels, heads);
  norm_ =
      register_module("norm", nn::GroupNorm(nn::GroupNormOptions(group_count(channels, groups), channels)));
  qkv_ = register_module("qkv", nn::Conv2d(nn::Conv2dOptions(channels, 3 * channels, 1)));
  proj_ = register_module("proj", nn::Conv2d(nn::Conv2dOptions(channels, channels, 1)));
  nn::init::zeros_(proj_->weight);
  nn::init::zeros_(proj_->bias);
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3), d = c / heads_;
  auto qkv = qkv_->forward(norm_->forward(x)).view({b, 3, heads_, d, hw});
  auto q = qkv.select(1, 0), k = qkv.select(1, 1), v = qkv.select(1, 2);  // [B, heads, d, HW]
  auto attn =
      torch::softmax(torch::matmul(q.transpose(2, 3), k) / std::sqrt(double(d)), -1);  // [B, h, HW, HW]
  auto out = torch::matmul(v, attn.transpose(2, 3)).reshape({b, c, x.size(2), x.size(3)});
  return x + proj_->forward(out);
}

}  // namespace ddim
