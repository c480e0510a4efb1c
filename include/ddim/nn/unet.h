// The paper's denoising U-Net (seed paper section 4; the keras.io DDIM example its code copies).
//
// Input: a 1x1 convolution of the image, concatenated once with the noise-variance embedding
// tiled over the plane. Down path: for each width but the last, block_depth residual blocks
// (each output kept as a skip) and 2x2 average pooling. Middle: block_depth residual blocks
// at the last width. Up path: bilinear x2 upsampling, then per block the concatenation of
// [x, skip] and a residual block. Output: a 1x1 convolution with zero-initialised weights
// and bias (the network starts by predicting no noise).
// Residual block: residual = x (a 1x1 conv when the width changes); BatchNorm without
// affine parameters (Keras eps 1e-3, momentum 0.99 = torch momentum 0.01); 3x3 conv + swish;
// 3x3 conv; add the residual; no activation after the add.
//
// Beyond the paper, each off by default: GroupNorm instead of BatchNorm, dropout inside the
// blocks, self-attention at chosen resolutions, and a conditioning vector. With cond_dim > 0
// every block normalises with AdaGN (Diff-AE eq. 7): h = z_s (t_s GroupNorm(h) + t_b), with
// (t_s, t_b) from the noise embedding and z_s from the conditioning vector, both through
// zero-initialised layers as 1 + (.), so a fresh block is plain GroupNorm. Samplers never
// see this: they call the network through a closure that binds the condition.
//
// A class-conditional U-Net (classes > 0) takes a class label as a one-hot vector over
// classes + 1 (the last, the null class, stands for "no class": classifier-free guidance,
// Ho & Salimans 2022) and maps it through a learned embedding (a bias-free linear map, i.e. a
// lookup table) of cond_dim entries into the same AdaGN path.
#pragma once

#include <vector>

#include "ddim/core/fields.h"
#include "ddim/nn/blocks.h"
#include "ddim/nn/network.h"
#include "ddim/nn/prepared_unet.h"

namespace ddim {

struct UNetOptions {
  int64_t channels = 1;  ///< image channels in and out
  std::vector<int64_t> widths = {32, 64, 96, 128};
  int64_t block_depth = 2;
  int64_t embedding_dims = 32;  ///< noise embedding size (64 in the CelebA code)
  double embedding_max_frequency = 1000.0;
  NormKind norm = NormKind::Batch;
  int64_t groups = 8;  ///< GroupNorm groups (at most the width)
  double dropout = 0.0;
  std::vector<int64_t> attention_resolutions;  ///< e.g. {16, 8}: attention at 16x16 and 8x8
  int64_t attention_heads = 4;
  int64_t image_size = 32;  ///< side of the images (places the attention)
  int64_t cond_dim = 0;     ///< conditioning vector size (the class embedding's size); 0: none
  int64_t classes = 0;      ///< class-conditional: the number of classes (0: not class-conditional)
  bool noise_input = true;  ///< false: no noise embedding (the embedder U-Net)

  nlohmann::json to_json() const;
  static UNetOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("channels", self.channels);
    field("widths", self.widths);
    field("block_depth", self.block_depth);
    field("embedding_dims", self.embedding_dims);
    field("embedding_max_frequency", self.embedding_max_frequency);
    field("norm", self.norm);
    field("groups", self.groups);
    field("dropout", self.dropout);
    field("attention_resolutions", self.attention_resolutions);
    field("attention_heads", self.attention_heads);
    field("image_size", self.image_size);
    field("cond_dim", self.cond_dim);
    field("classes", self.classes);
    field("noise_input", self.noise_input);
  }
  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
};

class UNet : public EpsNetwork {
 public:
  explicit UNet(const UNetOptions& options);
  /// x: [B, C, H, W] with H and W divisible by 2^(widths - 1).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_variance,
                        const torch::Tensor& cond = {}) override;
  nlohmann::json describe() const override;
  /// The size of the vector forward() takes: cond_dim, or classes + 1 (one-hot) for a
  /// class-conditional U-Net.
  int64_t cond_dim() const override {
    return options_.classes > 0 ? options_.classes + 1 : options_.cond_dim;
  }
  Conditioning conditioning() const override {
    return options_.classes > 0    ? Conditioning::Class
           : options_.cond_dim > 0 ? Conditioning::Vector
                                   : Conditioning::None;
  }
  int64_t classes() const override { return options_.classes; }
  const UNetOptions& options() const { return options_; }
  /// Runs convolutions in channels-last layout (NHWC, the default): converts the 4-D
  /// weights now and the input on every call. About 10% faster with oneDNN on CPUs, and what
  /// cuDNN's tensor-core kernels want; results equal NCHW's up to float rounding.
  void set_channels_last(bool on) override;
  /// Forward passes in eval mode that need no gradient run the prepared inference form
  /// (nn/prepared_unet.h: folded, fused and prepacked, the same function to float rounding)
  /// where it covers this network and this CPU; made on first use and again after any weight
  /// or statistic changes in place or through set_data (a tensor registered anew in place of
  /// one is not seen: call set_prepared(false) and true). On by default; off: the plain modules, to compare
  /// with. `winograd`: its fp32 3x3 convolutions by Winograd's F(2x2, 3x3) where the CPU has AVX2 or AVX-512
  /// (nn/winograd.h, on by default), or all by oneDNN's direct kernels.
  void set_prepared(bool on, bool winograd = true) {
    prepared_on_ = on;
    prepared_tensors_.clear();  // collected again on the next call
    if (winograd != prepared_winograd_) prepared_.reset();
    prepared_winograd_ = winograd;
  }

 private:
  friend class PreparedUNet;
  bool attention_at(int64_t level) const;
  /// The prepared form's output, or undefined where the plain path must run.
  torch::Tensor prepared_forward(const torch::Tensor& x, const torch::Tensor& noise_variance);
  UNetOptions options_;
  bool channels_last_ = true;
  bool prepared_on_ = true, prepared_covers_ = false, prepared_winograd_ = true;
  std::shared_ptr<PreparedUNet> prepared_;
  std::vector<torch::Tensor> prepared_tensors_;  ///< the parameters and buffers, collected once
  const UNet* prepared_owner_ = nullptr;         ///< who collected them (a copy collects its own)
  std::vector<int64_t> prepared_from_;           ///< their addresses and versions when it was made
  int64_t temb_dim_ = 0;
  torch::nn::Conv2d stem_{nullptr}, head_{nullptr};
  torch::nn::Sequential time_mlp_{nullptr};
  torch::nn::Linear class_embedding_{nullptr};
  // One entry per residual block, in the order they run; attention entries are empty
  // holders where a level has none.
  std::vector<ResidualBlock> down_, middle_, up_;
  std::vector<SelfAttention> down_attn_, middle_attn_, up_attn_;
};

}  // namespace ddim
