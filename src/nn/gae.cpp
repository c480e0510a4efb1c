#include "ddim/nn/gae.h"

#include <numeric>

#include "ddim/core/error.h"

namespace ddim {

namespace nn = torch::nn;

// ------------------------------------------------------------------ the network

nlohmann::json GaeOptions::to_json() const { return fields_to_json(*this); }

GaeOptions GaeOptions::from_json(const nlohmann::json& j) { return fields_from_json<GaeOptions>(j); }

void GaeOptions::validate() const {
  DDIM_CHECK_ARG(z_dim > 0 && dis_dim > 0, "the GAE's code sizes must be positive, got z_sem {} and z_dis {}",
                 z_dim, dis_dim);
  DDIM_CHECK_ARG(
      width > 0 && mlp_blocks >= 0 && bottleneck_blocks >= 0 && mlp_blocks + bottleneck_blocks > 0,
      "the GAE needs a positive width and at least one block, got width {}, {} MLP and {} bottleneck "
      "blocks",
      width, mlp_blocks, bottleneck_blocks);
  DDIM_CHECK_ARG(bottleneck_ratio >= 1 && width / bottleneck_ratio > 0,
                 "the bottleneck ratio must be in [1, width], got {} for width {}", bottleneck_ratio, width);
  DDIM_CHECK_ARG(groups > 0 && width % groups == 0, "the GAE's width {} must be a multiple of its {} groups",
                 width, groups);
}

// Named, not anonymous: GaeCoder, declared in nn/gae.h, holds these.
namespace gae_detail {
// A residual block x + W2 silu(N2(W1 silu(N1(x)))), the inner width `inner` (the width itself
// for an MLP block, narrower for a bottleneck). Norms are LayerNorm or GroupNorm; the second
// linear map starts at zero, so every block starts as the identity.
class ResidualBlock1d : public nn::Module {
 public:
  ResidualBlock1d(int64_t width, int64_t inner, bool group_norm, int64_t groups) {
    auto norm = [&](const std::string& name, int64_t channels) -> std::shared_ptr<nn::Module> {
      if (group_norm)
        return register_module(name,
                               nn::GroupNorm(nn::GroupNormOptions(std::gcd(groups, channels), channels)));
      return register_module(name, nn::LayerNorm(nn::LayerNormOptions({channels})));
    };
    norm1_ = norm("norm1", width);
    norm2_ = norm("norm2", inner);
    fc1_ = register_module("fc1", nn::Linear(width, inner));
    fc2_ = register_module("fc2", nn::Linear(inner, width));
    nn::init::zeros_(fc2_->weight);
    nn::init::zeros_(fc2_->bias);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = fc1_->forward(torch::silu(normalize(*norm1_, x)));
    return x + fc2_->forward(torch::silu(normalize(*norm2_, h)));
  }

 private:
  static torch::Tensor normalize(nn::Module& norm, const torch::Tensor& x) {
    if (auto* g = norm.as<nn::GroupNorm>())
      return g->forward(x.to(g->weight.scalar_type()));  // see group_norm
    return norm.as<nn::LayerNorm>()->forward(x);
  }
  std::shared_ptr<nn::Module> norm1_, norm2_;
  nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
}  // namespace gae_detail
using gae_detail::ResidualBlock1d;

// One half of the GAE: input map, MLP blocks, bottleneck blocks, norm + SiLU + output map.
class GaeCoder : public nn::Module {
 public:
  GaeCoder(int64_t in, int64_t out, const GaeOptions& o, bool group_norm) : group_norm_(group_norm) {
    input_ = register_module("input", nn::Linear(in, o.width));
    for (int64_t i = 0; i < o.mlp_blocks + o.bottleneck_blocks; ++i) {
      const int64_t inner = i < o.mlp_blocks ? o.width : o.width / o.bottleneck_ratio;
      blocks_.push_back(
          register_module(fmt::format("block{}", i),
                          std::make_shared<ResidualBlock1d>(o.width, inner, group_norm, o.groups)));
    }
    if (group_norm)
      gn_ = register_module("norm", nn::GroupNorm(nn::GroupNormOptions(o.groups, o.width)));
    else
      ln_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({o.width})));
    output_ = register_module("output", nn::Linear(o.width, out));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = input_->forward(x);
    for (auto& b : blocks_) h = b->forward(h);
    h = group_norm_ ? gn_->forward(h) : ln_->forward(h);
    return output_->forward(torch::silu(h));
  }

 private:
  bool group_norm_;
  nn::Linear input_{nullptr}, output_{nullptr};
  std::vector<std::shared_ptr<ResidualBlock1d>> blocks_;
  nn::GroupNorm gn_{nullptr};
  nn::LayerNorm ln_{nullptr};
};

Gae::Gae(const GaeOptions& o) : options_(o) {
  o.validate();
  encoder_ =
      register_module("encoder", std::make_shared<GaeCoder>(o.z_dim, o.dis_dim, o, /*group_norm=*/false));
  decoder_ =
      register_module("decoder", std::make_shared<GaeCoder>(o.dis_dim, o.z_dim, o, /*group_norm=*/true));
  mean_ = register_buffer("z_mean", torch::zeros({o.z_dim}));
  std_ = register_buffer("z_std", torch::ones({o.z_dim}));
}

void Gae::set_statistics(const torch::Tensor& codes) {
  DDIM_CHECK_ARG(codes.dim() == 2 && codes.size(1) == options_.z_dim && codes.size(0) > 1,
                 "the GAE's statistics need codes [N > 1, {}], got {}", options_.z_dim,
                 fmt::join(codes.sizes(), "x"));
  torch::NoGradGuard no_grad;
  const auto c = codes.to(torch::kFloat64);
  const auto std = c.std(0);
  mean_.copy_(c.mean(0));
  std_.copy_(torch::where(std > 1e-8, std, torch::ones_like(std)));
}

void Gae::track_statistics(bool on, double momentum) {
  DDIM_CHECK_ARG(momentum > 0 && momentum <= 1, "the statistics' momentum must be in (0, 1], got {}",
                 momentum);
  track_ = on;
  momentum_ = momentum;
}

torch::Tensor Gae::standardize(const torch::Tensor& z_sem) {
  DDIM_CHECK_ARG(z_sem.dim() == 2 && z_sem.size(1) == options_.z_dim,
                 "the GAE encodes semantic codes [N, {}], got {}", options_.z_dim,
                 fmt::join(z_sem.sizes(), "x"));
  if (!(track_ && is_training())) return (z_sem - mean_) / std_;
  DDIM_CHECK_ARG(z_sem.size(0) > 1, "batch statistics of z_sem need at least two codes, got {}",
                 z_sem.size(0));
  const auto mean = z_sem.mean(0), std = (z_sem.var(0, /*unbiased=*/false) + 1e-8).sqrt();
  {
    torch::NoGradGuard no_grad;
    mean_.mul_(1 - momentum_).add_(mean.detach().to(mean_.dtype()), momentum_);
    std_.mul_(1 - momentum_).add_(std.detach().to(std_.dtype()), momentum_);
  }
  return (z_sem - mean) / std;
}

torch::Tensor Gae::encode_standardized(const torch::Tensor& z) { return encoder_->forward(z); }

torch::Tensor Gae::encode(const torch::Tensor& z_sem) { return encode_standardized(standardize(z_sem)); }

torch::Tensor Gae::decode_standardized(const torch::Tensor& z_dis) {
  DDIM_CHECK_ARG(z_dis.dim() == 2 && z_dis.size(1) == options_.dis_dim,
                 "the GAE decodes codes [N, {}], got {}", options_.dis_dim, fmt::join(z_dis.sizes(), "x"));
  return decoder_->forward(z_dis);
}

torch::Tensor Gae::decode(const torch::Tensor& z_dis) { return decode_standardized(z_dis) * std_ + mean_; }

}  // namespace ddim
