#include "ddim/nn/blocks.h"

#include <algorithm>
#include <cmath>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/nn/batch_norm.h"
#include "ddim/nn/group_norm.h"
#include "ddim/nn/network.h"
#include "ddim/nn/winograd.h"

namespace ddim {

namespace nn = torch::nn;

template <>
const NameTable<NormKind>& name_table<NormKind>() {
  static const NameTable<NormKind> table{"norm", {{NormKind::Batch, "batch"}, {NormKind::Group, "group"}}};
  return table;
}

torch::Tensor group_norm(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  return norm->options.affine() ? norm->forward(x.to(norm->weight.scalar_type())) : norm->forward(x);
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

// Eval-mode batch norm is a per-channel affine map, a x + b (a = 1 / sqrt(var + eps),
// b = -mean a: the paper's norm has no learnt scale or shift), and conv1 is linear, so
//   conv1(a x + b) = conv1'(x) + conv1(b),  conv1' = conv1 with its weights scaled by a.
// conv1(b) is a constant map: inside the image every 3x3 tap sees b and it is the constant
// sum W b, folded into the bias; on the one-pixel border the zero padding hides taps, so
// there the exact difference is added (computed once per H x W). One pass over the
// activations (the norm's) is saved; the result equals the plain path to rounding. The fold
// is cached while the weights need no gradient (a change of them or of the statistics makes
// a new one) and made afresh, differentiably, when they do (fine-tuning in eval mode).
torch::Tensor ResidualBlockImpl::folded_norm_conv1(const torch::Tensor& x) {
  const auto& mean = batch_norm_->running_mean;
  const auto& var = batch_norm_->running_var;
  const auto& w = conv1_->weight;
  const bool differentiable =
      torch::GradMode::is_enabled() && (w.requires_grad() || conv1_->bias.requires_grad());
  auto fold = [&](Folded& f) {
    const auto a = torch::rsqrt(var + batch_norm_->options.eps());
    const auto b = -mean * a;
    f.weight = (w * a.view({1, -1, 1, 1})).contiguous(w.suggest_memory_format());
    f.bias = conv1_->bias + (w * b.view({1, -1, 1, 1})).sum({1, 2, 3});
    f.shift = b;
  };
  Folded fresh;
  Folded* f = &folded_;
  if (differentiable) {
    fold(fresh);
    f = &fresh;
  } else {
    const std::vector<int64_t> versions = {w._version(), conv1_->bias._version(), mean._version(),
                                           var._version()};
    if (versions != folded_.versions || !folded_.weight.defined() || folded_.weight.device() != w.device()) {
      folded_ = Folded{};
      fold(folded_);
      folded_.versions = versions;
    }
  }
  const int64_t height = x.size(2), width = x.size(3);
  auto& border = f->borders[{height, width}];
  if (!border.defined()) {
    // conv1(b) over an H x W image with zero padding, less its value inside the image.
    const auto plane = f->shift.view({1, -1, 1, 1}).expand({1, in_, height, width});
    const auto full = torch::conv2d(plane, w, {}, 1, 1);
    border = full - (f->bias - conv1_->bias).view({1, -1, 1, 1});
  }
  auto h = torch::conv2d(x, f->weight.to(x.scalar_type()), f->bias.to(x.scalar_type()), 1, 1);
  const auto corr = border.to(h.scalar_type());
  if (differentiable || x.requires_grad() || height < 3 || width < 3) return h + corr;
  // The border only, in place: the top and bottom rows, then the left and right columns.
  for (const int64_t row : {int64_t{0}, height - 1}) h.narrow(2, row, 1).add_(corr.narrow(2, row, 1));
  for (const int64_t col : {int64_t{0}, width - 1})
    h.narrow(2, 1, height - 2).narrow(3, col, 1).add_(corr.narrow(2, 1, height - 2).narrow(3, col, 1));
  return h;
}

void set_norm_folding(torch::nn::Module& network, bool on) {
  if (auto* self = network.as<ResidualBlockImpl>()) self->set_norm_folding(on);
  for (const auto& m : network.modules(/*include_self=*/false))
    if (auto* block = m->as<ResidualBlockImpl>()) block->set_norm_folding(on);
}

torch::Tensor ResidualBlockImpl::convolve(const torch::nn::Conv2d& conv, Transformed& t,
                                          const torch::Tensor& src, WinogradConvolution::Epilogue epilogue,
                                          torch::Tensor dst) {
  using E = WinogradConvolution::Epilogue;
  const auto& w = conv->weight;
  if (const auto level = winograd_level_for(src, w.size(0))) {
    const std::vector<int64_t> from = {reinterpret_cast<int64_t>(w.data_ptr()), w._version(),
                                       reinterpret_cast<int64_t>(conv->bias.data_ptr()),
                                       conv->bias._version(), static_cast<int64_t>(*level)};
    if (!t.conv || t.from != from) {
      t.conv = std::make_shared<WinogradConvolution>(w, conv->bias, *level);
      t.from = from;
    }
    if (epilogue != E::Accumulate)
      dst = torch::empty({src.size(0), w.size(0), src.size(2), src.size(3)},
                         src.options().memory_format(torch::MemoryFormat::ChannelsLast));
    (*t.conv)(src, dst, epilogue);
    return dst;
  }
  auto y = torch::conv2d(src, w, conv->bias, 1, 1);
  if (epilogue == E::Swish) return swish(y);
  if (epilogue == E::Accumulate) return dst.add_(y);
  return y;
}

// GroupNorm(x) s + t with one scale and shift per example and channel: AdaGN's
// z_s (t_s GN(x) + t_b) has s = z_s t_s and t = z_s t_b; a plain affine norm has its weight and
// bias. Then conv1 with the swish fused, and conv2 accumulated into the residual. Under bf16
// autocast the norm runs in the input's type and the convolutions are LibTorch's (Winograd's are
// fp32 only), with the swish kernel and the residual added in place.
torch::Tensor ResidualBlockImpl::modulated_forward(const torch::Tensor& x, const torch::Tensor& temb,
                                                   const torch::Tensor& cond) {
  using E = WinogradConvolution::Epilogue;
  const int64_t b = x.size(0);
  torch::Tensor scale, shift;
  if (group_norm_->options.affine()) {
    scale = group_norm_->weight.view({1, in_}).expand({b, in_});
    shift = group_norm_->bias.view({1, in_}).expand({b, in_});
  }
  if (time_mod_) {
    const auto parts = time_mod_->forward(temb).view({b, 2 * in_}).chunk(2, 1);
    scale = 1 + parts[0];
    shift = parts[1];
  }
  if (cond_mod_ && cond.defined()) {
    const auto z = 1 + cond_mod_->forward(cond).view({b, in_});
    scale = scale.defined() ? scale * z : z;
    if (shift.defined()) shift = shift * z;
  }
  const auto h =
      modulated_group_norm(x, group_norm_->options.num_groups(), group_norm_->options.eps(), scale, shift);
  const auto hidden = convolve(conv1_, transformed_[0], h, E::Swish, {});
  auto out = residual_ ? residual_->forward(x).contiguous(torch::MemoryFormat::ChannelsLast)
                       : x.clone(torch::MemoryFormat::ChannelsLast);
  return convolve(conv2_, transformed_[1], hidden, E::Accumulate, out);
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& temb,
                                         const torch::Tensor& cond) {
  // A group-norm block's no-grad pass in eval mode (channels-last, fp32 or under bf16 autocast):
  // modulated_forward.
  if (group_norm_ && !is_training() && fold_norm_ && group_norm_kernel_applies(x) &&
      (x.scalar_type() == torch::kFloat || autocast_enabled(torch::kCPU))) {
    // (Under NoGradGuard, as in sampling, the parameters are not looked at.)
    const auto needs = [](const torch::Tensor& t) { return t.defined() && t.requires_grad(); };
    const auto any_parameter = [&] {
      const auto params = parameters();
      return std::any_of(params.begin(), params.end(), needs);
    };
    const bool grad =
        torch::GradMode::is_enabled() && (needs(x) || needs(temb) || needs(cond) || any_parameter());
    if (!grad) return modulated_forward(x, temb, cond);
  }
  auto residual = residual_ ? residual_->forward(x) : x;
  torch::Tensor h;
  if (batch_norm_ && !is_training() && fold_norm_) {
    h = swish(folded_norm_conv1(x));
    return conv3x3(h, conv2_->weight, conv2_->bias) + residual;  // no dropout in eval mode
  }
  if (batch_norm_ && is_training()) {
    // ddim's kernels (nn/batch_norm.h) where they apply, with BatchNorm2d's bookkeeping.
    {
      torch::NoGradGuard no_grad;
      batch_norm_->num_batches_tracked += 1;
    }
    h = batch_norm_training(x, batch_norm_->running_mean, batch_norm_->running_var,
                            batch_norm_->options.momentum().value(), batch_norm_->options.eps());
  } else if (batch_norm_) {
    h = batch_norm_->forward(x);
  } else {
    h = group_norm(group_norm_, x);
    // AdaGN (Diff-AE eq. 7): z_s (t_s GN(h) + t_b).
    if (time_mod_) {
      auto ts_tb = time_mod_->forward(temb).view({x.size(0), 2 * in_, 1, 1});
      auto parts = ts_tb.chunk(2, 1);
      h = h * (1 + parts[0]) + parts[1];
    }
    if (cond_mod_ && cond.defined()) h = h * (1 + cond_mod_->forward(cond).view({x.size(0), in_, 1, 1}));
  }
  // Winograd's F(2x2, 3x3) where it applies (nn/winograd.h): fp32 on the CPU, forward and backward.
  h = swish(conv3x3(h, conv1_->weight, conv1_->bias));
  if (dropout_) h = dropout_->forward(h);
  h = conv3x3(h, conv2_->weight, conv2_->bias);
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
  auto qkv = qkv_->forward(group_norm(norm_, x)).view({b, 3, heads_, d, hw});
  auto q = qkv.select(1, 0), k = qkv.select(1, 1), v = qkv.select(1, 2);  // [B, heads, d, HW]
  auto attn =
      torch::softmax(torch::matmul(q.transpose(2, 3), k) / std::sqrt(double(d)), -1);  // [B, h, HW, HW]
  auto out = torch::matmul(v, attn.transpose(2, 3)).reshape({b, c, x.size(2), x.size(3)});
  return x + proj_->forward(out);
}

}  // namespace ddim
