#include "ddim/nn/unet.h"

#include <cmath>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"

namespace ddim {

namespace nn = torch::nn;

nlohmann::json UNetOptions::to_json() const {
  auto j = fields_to_json(*this);
  j["kind"] = "unet";  // what kind of network the description is
  return j;
}

UNetOptions UNetOptions::from_json(const nlohmann::json& j) { return fields_from_json<UNetOptions>(j); }

void UNetOptions::validate() const {
  DDIM_CHECK_ARG(channels > 0, "U-Net channels must be positive, got {}", channels);
  DDIM_CHECK_ARG(widths.size() >= 2, "the U-Net needs at least two widths, got {}", widths.size());
  for (auto w : widths) DDIM_CHECK_ARG(w > 0, "U-Net widths must be positive, got {}", w);
  DDIM_CHECK_ARG(block_depth > 0, "block depth must be positive, got {}", block_depth);
  DDIM_CHECK_ARG(!noise_input || (embedding_dims > 0 && embedding_dims % 2 == 0),
                 "the noise embedding size must be positive and even, got {}", embedding_dims);
  DDIM_CHECK_ARG(dropout >= 0 && dropout < 1, "dropout must be in [0, 1), got {}", dropout);
  DDIM_CHECK_ARG(cond_dim >= 0, "conditioning size must not be negative, got {}", cond_dim);
  DDIM_CHECK_ARG(cond_dim == 0 || noise_input, "a conditioned U-Net needs the noise input");
  DDIM_CHECK_ARG(classes >= 0, "the number of classes must not be negative, got {}", classes);
  DDIM_CHECK_ARG(classes == 0 || classes >= 2, "a class-conditional U-Net needs at least two classes, got {}",
                 classes);
  DDIM_CHECK_ARG(classes == 0 || cond_dim > 0,
                 "a class-conditional U-Net needs a class embedding size (cond_dim), got {}", cond_dim);
  const int64_t levels = static_cast<int64_t>(widths.size()) - 1;
  DDIM_CHECK_ARG(image_size > 0 && image_size % (int64_t{1} << levels) == 0,
                 "image size {} is not divisible by 2^{} = {} (the U-Net halves it {} times): pad the data",
                 image_size, levels, int64_t{1} << levels, levels);
  for (auto r : attention_resolutions) {
    bool found = false;
    for (int64_t l = 0; l <= levels; ++l) found = found || (image_size >> l) == r;
    DDIM_CHECK_ARG(found, "attention resolution {} is not one of the U-Net's resolutions for {}x{} images", r,
                   image_size, image_size);
  }
  for (size_t i = 0; i < widths.size(); ++i) {
    const bool attn = std::find(attention_resolutions.begin(), attention_resolutions.end(),
                                image_size >> i) != attention_resolutions.end();
    DDIM_CHECK_ARG(!attn || widths[i] % attention_heads == 0,
                   "width {} is not divisible by {} attention heads", widths[i], attention_heads);
  }
}

bool UNet::attention_at(int64_t level) const {
  const int64_t r = options_.image_size >> level;
  const auto& a = options_.attention_resolutions;
  return std::find(a.begin(), a.end(), r) != a.end();
}

UNet::UNet(const UNetOptions& o) : options_(o) {
  o.validate();
  const auto& w = o.widths;
  const int64_t levels = static_cast<int64_t>(w.size()) - 1;
  if (o.cond_dim > 0) {
    temb_dim_ = 4 * o.embedding_dims;
    time_mlp_ = register_module("time_mlp", nn::Sequential(nn::Linear(o.embedding_dims, temb_dim_),
                                                           nn::SiLU(), nn::Linear(temb_dim_, temb_dim_)));
  }
  if (o.classes > 0)
    class_embedding_ = register_module("class_embedding",
                                       nn::Linear(nn::LinearOptions(o.classes + 1, o.cond_dim).bias(false)));
  stem_ = register_module("stem", nn::Conv2d(nn::Conv2dOptions(o.channels, w[0], 1)));
  auto block = [&](const std::string& name, int64_t in, int64_t out) {
    return register_module(name, ResidualBlock(in, out, o.norm, o.groups, o.dropout, temb_dim_, o.cond_dim));
  };
  auto attention = [&](const std::string& name, int64_t level, int64_t channels) {
    return attention_at(level) ? register_module(name, SelfAttention(channels, o.attention_heads, o.groups))
                               : SelfAttention(nullptr);
  };
  int64_t in = w[0] + (o.noise_input ? o.embedding_dims : 0);
  std::vector<int64_t> skip_widths;
  for (int64_t l = 0; l < levels; ++l)
    for (int64_t d = 0; d < o.block_depth; ++d) {
      down_.push_back(block(fmt::format("down{}_{}", l, d), in, w[l]));
      down_attn_.push_back(attention(fmt::format("down{}_{}_attn", l, d), l, w[l]));
      in = w[l];
      skip_widths.push_back(in);
    }
  for (int64_t d = 0; d < o.block_depth; ++d) {
    middle_.push_back(block(fmt::format("middle_{}", d), in, w[levels]));
    middle_attn_.push_back(attention(fmt::format("middle_{}_attn", d), levels, w[levels]));
    in = w[levels];
  }
  for (int64_t l = levels - 1; l >= 0; --l)
    for (int64_t d = 0; d < o.block_depth; ++d) {
      up_.push_back(block(fmt::format("up{}_{}", l, d), in + skip_widths.back(), w[l]));
      up_attn_.push_back(attention(fmt::format("up{}_{}_attn", l, d), l, w[l]));
      skip_widths.pop_back();
      in = w[l];
    }
  head_ = register_module("head", nn::Conv2d(nn::Conv2dOptions(w[0], o.channels, 1)));
  nn::init::zeros_(head_->weight);
  nn::init::zeros_(head_->bias);
  set_channels_last(channels_last_);
  prepared_covers_ = PreparedUNet::why_not(o).empty();
}

torch::Tensor UNet::prepared_forward(const torch::Tensor& x, const torch::Tensor& noise_variance) {
  if (!prepared_on_ || !prepared_covers_ || is_training() || !x.device().is_cpu() ||
      x.scalar_type() != torch::kFloat)
    return {};
  const bool grad = torch::GradMode::is_enabled();
  if (grad && (x.requires_grad() || noise_variance.requires_grad())) return {};
  // The tensors it was made from, collected once (parameters() builds every name anew, on
  // every step of a sampler). A weight replaced through set_data (Module::to) or changed in
  // place (an optimiser, a loaded checkpoint, a Python user) shows in its address or version.
  if (prepared_tensors_.empty() || prepared_owner_ != this) {
    prepared_tensors_ = parameters();
    for (const auto& t : buffers()) prepared_tensors_.push_back(t);
    prepared_owner_ = this;
  }
  if (grad)
    for (const auto& p : prepared_tensors_)
      if (p.requires_grad()) return {};
  // Made again when any weight or statistic was replaced or changed in place.
  bool same = prepared_ && prepared_from_.size() == 2 * prepared_tensors_.size();
  for (size_t i = 0; same && i < prepared_tensors_.size(); ++i)
    same = prepared_from_[2 * i] == reinterpret_cast<int64_t>(prepared_tensors_[i].data_ptr()) &&
           prepared_from_[2 * i + 1] == static_cast<int64_t>(prepared_tensors_[i]._version());
  if (!same) {
    prepared_from_.clear();
    for (const auto& t : prepared_tensors_) {
      prepared_from_.push_back(reinterpret_cast<int64_t>(t.data_ptr()));
      prepared_from_.push_back(static_cast<int64_t>(t._version()));
    }
    prepared_ = std::make_shared<PreparedUNet>(*this, prepared_winograd_);
  }
  return prepared_->forward(x, noise_variance, autocast_enabled(x.device()));
}

torch::Tensor UNet::forward(const torch::Tensor& x_in, const torch::Tensor& noise_variance,
                            const torch::Tensor& cond) {
  const auto& o = options_;
  const int64_t levels = static_cast<int64_t>(o.widths.size()) - 1;
  DDIM_CHECK_ARG(x_in.dim() == 4 && x_in.size(1) == o.channels, "U-Net input must be [B, {}, H, W], got {}",
                 o.channels, fmt::join(x_in.sizes(), "x"));
  DDIM_CHECK_ARG(x_in.size(2) % (int64_t{1} << levels) == 0 && x_in.size(3) % (int64_t{1} << levels) == 0,
                 "U-Net input {} is not divisible by {}", fmt::join(x_in.sizes(), "x"), int64_t{1} << levels);
  DDIM_CHECK_ARG(
      cond_dim() == 0 ||
          (cond.defined() && cond.dim() == 2 && cond.size(0) == x_in.size(0) && cond.size(1) == cond_dim()),
      "this U-Net needs a conditioning vector [B, {}] for its {} inputs", cond_dim(), x_in.size(0));
  if (auto eps = prepared_forward(x_in, noise_variance); eps.defined()) return eps;
  // A class label enters through its learned embedding (one-hot times the table).
  const auto c = class_embedding_ ? class_embedding_->forward(cond.to(torch::kFloat)) : cond;
  auto x = stem_->forward(channels_last_ ? x_in.contiguous(torch::MemoryFormat::ChannelsLast) : x_in);
  torch::Tensor temb;
  if (o.noise_input) {
    // Made from the fp32 noise variance (its angles need fp32), then cast to the stem's dtype
    // (bf16 under autocast) to be concatenated.
    auto e = sinusoidal_embedding(noise_variance.reshape({-1}).to(x_in.scalar_type()), o.embedding_dims,
                                  o.embedding_max_frequency);
    if (time_mlp_) temb = time_mlp_->forward(e);
    // Tiled over the image plane and concatenated once (keras.io: UpSampling2D nearest).
    e = e.to(x.scalar_type()).view({x.size(0), -1, 1, 1}).expand({-1, -1, x.size(2), x.size(3)});
    // In the network's layout: a one-channel image's stem output counts as NCHW, and so would a
    // cat with an expanded tensor, and then every pass over the first block's input is slow (its
    // norm's backward took 18 ms of a bf16 training step's 400).
    const auto format = channels_last_ ? torch::MemoryFormat::ChannelsLast : x.suggest_memory_format();
    x = torch::cat({x.contiguous(format), e.contiguous(format)}, 1);
  }
  std::vector<torch::Tensor> skips;
  size_t k = 0;
  for (int64_t l = 0; l < levels; ++l) {
    for (int64_t d = 0; d < o.block_depth; ++d, ++k) {
      x = down_[k]->forward(x, temb, c);
      if (!down_attn_[k].is_empty()) x = down_attn_[k]->forward(x);
      skips.push_back(x);
    }
    x = torch::avg_pool2d(x, 2);
  }
  for (size_t d = 0; d < middle_.size(); ++d) {
    x = middle_[d]->forward(x, temb, c);
    if (!middle_attn_[d].is_empty()) x = middle_attn_[d]->forward(x);
  }
  k = 0;
  for (int64_t l = levels - 1; l >= 0; --l) {
    x = upsample2x(x);
    for (int64_t d = 0; d < o.block_depth; ++d, ++k) {
      x = torch::cat({x, skips.back()}, 1);
      skips.pop_back();
      x = up_[k]->forward(x, temb, c);
      if (!up_attn_[k].is_empty()) x = up_attn_[k]->forward(x);
    }
  }
  return head_->forward(x);
}

void UNet::set_channels_last(bool on) {
  channels_last_ = on;
  torch::NoGradGuard no_grad;
  const auto format = on ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  for (auto& p : parameters())
    if (p.dim() == 4) p.set_data(p.data().contiguous(format));
}

nlohmann::json UNet::describe() const { return options_.to_json(); }

}  // namespace ddim
