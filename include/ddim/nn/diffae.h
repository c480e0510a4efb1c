// Diffusion autoencoder (Preechakul et al. 2022, "Diffusion Autoencoders: Toward a Meaningful
// and Decodable Representation"): an image x0 is encoded into a compact semantic code
// z_sem = Enc(x0) plus a stochastic code x_T (DDIM inversion conditioned on z_sem), and
// decoded near-exactly by DDIM conditioned on z_sem.
//
// The semantic encoder is the first half of the U-Net (stem, down path, middle) with
// GroupNorm, global average pooling and a linear map to z_sem. Pooling keeps what is spread
// over the image (colours, lighting) and loses where things are: on a Fonts image, whose ink
// covers 2-5% of the pixels, the glyph's shape. The `flatten` head maps the whole last feature
// map (C x H/2^L x W/2^L) linearly to z_sem instead; Diff-AE leaves the encoder free. The decoder is the
// U-Net with AdaGN (Diff-AE eq. 7) in every residual block, conditioned through unet.h's conditioning entry
// point, so every sampler and inverter runs it unchanged: DiffAE is an EpsNetwork whose condition(x0) is the
// semantic code. Encoder and decoder train jointly on the usual noise loss (Diff-AE eq. 6).
//
// z_sem defaults to 64 dimensions for 32x32 data: the paper's 512 is ~1% of a 128x128x3
// image, and its ablation (Table 2) found 64 already on par with StyleGAN's 512-d W; 512 for
// a 1024-pixel image would be half the image, leaving little for x_T to carry.
#pragma once

#include "ddim/core/names.h"
#include "ddim/nn/blocks.h"
#include "ddim/nn/unet.h"

namespace ddim {

/// How the semantic encoder turns its last feature map into z_sem.
enum class EncoderHead { Pool, Flatten };
/// "pool" (global average pooling, Diff-AE's), "flatten" (the feature map, spatial).
DDIM_NAMED_ENUM(EncoderHead);

struct DiffAEOptions {
  UNetOptions unet;  ///< the decoder (cond_dim is set to z_dim, norm to group)
  int64_t z_dim = 64;
  EncoderHead head = EncoderHead::Pool;

  nlohmann::json to_json() const;
  static DiffAEOptions from_json(const nlohmann::json& j);
};

class SemanticEncoder : public torch::nn::Module {
 public:
  /// The flatten head needs unet.image_size (square images of that side only).
  SemanticEncoder(const UNetOptions& unet, int64_t z_dim, EncoderHead head = EncoderHead::Pool);
  /// x0: [B, C, H, W] standardised -> z_sem [B, z_dim].
  torch::Tensor forward(const torch::Tensor& x0);
  void set_channels_last(bool on);

 private:
  torch::nn::Conv2d stem_{nullptr};
  std::vector<ResidualBlock> blocks_;
  std::vector<bool> pool_after_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Linear head_{nullptr};
  EncoderHead head_kind_ = EncoderHead::Pool;
  int64_t image_size_ = 0, side_ = 0;  ///< flatten: the image's side, the feature map's at the head
  bool channels_last_ = true;
};

class DiffAE : public EpsNetwork {
 public:
  explicit DiffAE(const DiffAEOptions& options);
  /// The conditional decoder: eps(x_t, n^2 | z_sem).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_variance,
                        const torch::Tensor& cond = {}) override;
  /// The semantic code of clean standardised images.
  torch::Tensor condition(const torch::Tensor& x0) override { return encoder_->forward(x0); }
  nlohmann::json describe() const override { return options_.to_json(); }
  int64_t cond_dim() const override { return options_.z_dim; }
  Conditioning conditioning() const override { return Conditioning::Semantic; }
  void set_channels_last(bool on) override;
  const DiffAEOptions& options() const { return options_; }

 private:
  DiffAEOptions options_;
  std::shared_ptr<SemanticEncoder> encoder_;
  std::shared_ptr<UNet> decoder_;
};

}  // namespace ddim
