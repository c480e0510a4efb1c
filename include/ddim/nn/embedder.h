// Embedding networks (seed paper section 5.2, Table 1): a network E maps an image x (in
// [0, 1]) to a seed E(x) in emb(x), trained so that the S-step DDIM output of E(x)
// reproduces x.
//
//   conv1      one 5x5 convolution
//   conv3-16   three 5x5 convolutions, channels 16-16-out
//   conv3-64   three 5x5 convolutions, channels 64-64-out
//   conv5-128  two 5x5 and three 3x3 convolutions, channels 128-128-128-128-out
//   unet       the denoiser's U-Net without the noise input, zero-initialised output
// Swish between layers, "same" padding; the seed has the denoiser's shape.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ddim/core/fields.h"
#include "ddim/core/names.h"

namespace ddim {

enum class EmbedderArch { Conv1, Conv3x16, Conv3x64, Conv5x128, UNet };
/// "conv1", "conv3-16", "conv3-64", "conv5-128", "unet" (Table 1's rows, in order).
DDIM_NAMED_ENUM(EmbedderArch);

struct EmbedderOptions {
  EmbedderArch arch = EmbedderArch::UNet;
  int64_t channels = 1;  ///< image (and seed) channels
  int64_t image_size = 32;
  std::vector<int64_t> widths = {32, 64, 96, 128};  ///< unet: the denoiser's widths
  int64_t block_depth = 2;                          ///< unet

  nlohmann::json to_json() const;
  static EmbedderOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("arch", self.arch);
    field("channels", self.channels);
    field("image_size", self.image_size);
    field("widths", self.widths);
    field("block_depth", self.block_depth);
  }
  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
};

class Embedder : public torch::nn::Module {
 public:
  explicit Embedder(const EmbedderOptions& options);
  /// images: [B, C, H, W] in [0, 1] -> seeds [B, C, H, W].
  torch::Tensor forward(const torch::Tensor& images);
  const EmbedderOptions& options() const { return options_; }
  void set_channels_last(bool on);

 private:
  EmbedderOptions options_;
  torch::nn::ModuleList convs_{nullptr};
  std::shared_ptr<torch::nn::Module> unet_;
};

}  // namespace ddim
