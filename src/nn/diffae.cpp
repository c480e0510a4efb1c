#include "ddim/nn/diffae.h"

#include "ddim/core/error.h"
#include "ddim/nn/network.h"

namespace ddim {

namespace nn = torch::nn;

nlohmann::json DiffAEOptions::to_json() const {
  auto u = unet.to_json();
  return {{"kind", "diffae"}, {"z_dim", z_dim}, {"unet", u}};
}

DiffAEOptions DiffAEOptions::from_json(const nlohmann::json& j) {
  DiffAEOptions o;
  o.z_dim = j.value("z_dim", o.z_dim);
  o.unet = UNetOptions::from_json(j.at("unet"));
  return o;
}

SemanticEncoder::SemanticEncoder(const UNetOptions& u, int64_t z_dim) {
  DDIM_CHECK_ARG(z_dim > 0, "the semantic code size must be positive, got {}", z_dim);
  const auto& w = u.widths;
  const int64_t levels = static_cast<int64_t>(w.size()) - 1;
  stem_ = register_module("stem", nn::Conv2d(nn::Conv2dOptions(u.channels, w[0], 1)));
  int64_t in = w[0];
  auto add = [&](int64_t out, bool pool) {
    blocks_.push_back(register_module(fmt::format("block{}", blocks_.size()),
                                      ResidualBlock(in, out, NormKind::Group, u.groups, u.dropout)));
    pool_after_.push_back(pool);
    in = out;
  };
  for (int64_t l = 0; l < levels; ++l)
    for (int64_t d = 0; d < u.block_depth; ++d) add(w[l], d + 1 == u.block_depth);
  for (int64_t d = 0; d < u.block_depth; ++d) add(w[levels], false);
  norm_ = register_module("norm", nn::GroupNorm(nn::GroupNormOptions(group_count(in, u.groups), in)));
  head_ = register_module("head", nn::Linear(in, z_dim));
  set_channels_last(true);
}

void SemanticEncoder::set_channels_last(bool on) {
  channels_last_ = on;
  torch::NoGradGuard no_grad;
  const auto f = on ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  for (auto& p : parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(f));
}

torch::Tensor SemanticEncoder::forward(const torch::Tensor& x0) {
  auto x = stem_->forward(channels_last_ ? x0.contiguous(torch::MemoryFormat::ChannelsLast) : x0);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = blocks_[i]->forward(x);
    if (pool_after_[i]) x = torch::avg_pool2d(x, 2);
  }
  // Global average pooling: a non-spatial code, like StyleGAN's style vector.
  return head_->forward(swish(norm_->forward(x)).mean({2, 3}));
}

DiffAE::DiffAE(const DiffAEOptions& o) : options_(o) {
  options_.unet.cond_dim = o.z_dim;
  options_.unet.norm = NormKind::Group;
  options_.unet.validate();
  encoder_ = register_module("encoder", std::make_shared<SemanticEncoder>(options_.unet, o.z_dim));
  decoder_ = register_module("decoder", std::make_shared<UNet>(options_.unet));
}

torch::Tensor DiffAE::forward(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor& cond) {
  DDIM_CHECK_ARG(cond.defined(), "a diffusion autoencoder decodes conditioned on a semantic code z_sem");
  return decoder_->forward(x, v, cond);
}

void DiffAE::set_channels_last(bool on) {
  encoder_->set_channels_last(on);
  decoder_->set_channels_last(on);
}

}  // namespace ddim
