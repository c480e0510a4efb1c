#include "ddim/nn/diffae.h"

#include "ddim/core/error.h"
#include "ddim/nn/network.h"

namespace ddim {

namespace nn = torch::nn;

template <>
const NameTable<EncoderHead>& name_table<EncoderHead>() {
  static const NameTable<EncoderHead> table{"encoder head",
                                            {{EncoderHead::Pool, "pool"}, {EncoderHead::Flatten, "flatten"}}};
  return table;
}

nlohmann::json DiffAEOptions::to_json() const {
  auto u = unet.to_json();
  nlohmann::json j = {{"kind", "diffae"}, {"z_dim", z_dim}, {"unet", u}};
  // Written only when not the default, so that pooling models keep their description (and
  // their fingerprint) from before the option existed.
  if (head != EncoderHead::Pool) j["encoder_head"] = ddim::to_string(head);
  return j;
}

DiffAEOptions DiffAEOptions::from_json(const nlohmann::json& j) {
  DiffAEOptions o;
  o.z_dim = j.value("z_dim", o.z_dim);
  o.head = from_string<EncoderHead>(j.value("encoder_head", std::string("pool")));
  o.unet = UNetOptions::from_json(j.at("unet"));
  return o;
}

SemanticEncoder::SemanticEncoder(const UNetOptions& u, int64_t z_dim, EncoderHead head) : head_kind_(head) {
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
  int64_t features = in;
  if (head == EncoderHead::Flatten) {
    image_size_ = u.image_size;
    side_ = u.image_size >> levels;
    DDIM_CHECK_ARG(side_ > 0 && (side_ << levels) == u.image_size,
                   "the flatten encoder head needs an image side divisible by 2^{} ({} levels), got {}",
                   levels, levels, u.image_size);
    features = in * side_ * side_;
  }
  head_ = register_module("head", nn::Linear(features, z_dim));
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
  const auto h = swish(group_norm(norm_, x));
  // Global average pooling: a non-spatial code, like StyleGAN's style vector.
  if (head_kind_ == EncoderHead::Pool) return head_->forward(h.mean({2, 3}));
  DDIM_CHECK_ARG(h.size(2) == side_ && h.size(3) == side_,
                 "the encoder's flatten head was built for {}x{} images, got {}x{}", image_size_, image_size_,
                 x0.size(3), x0.size(2));
  return head_->forward(h.contiguous().flatten(1));
}

DiffAE::DiffAE(const DiffAEOptions& o) : options_(o) {
  options_.unet.cond_dim = o.z_dim;
  options_.unet.norm = NormKind::Group;
  options_.unet.validate();
  encoder_ = register_module("encoder", std::make_shared<SemanticEncoder>(options_.unet, o.z_dim, o.head));
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
