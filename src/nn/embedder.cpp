#include "ddim/nn/embedder.h"

#include "ddim/core/error.h"
#include "ddim/nn/network.h"
#include "ddim/nn/unet.h"

namespace ddim {

namespace nn = torch::nn;

template <>
const NameTable<EmbedderArch>& name_table<EmbedderArch>() {
  static const NameTable<EmbedderArch> table{"embedder architecture",
                                             {{EmbedderArch::Conv1, "conv1"},
                                              {EmbedderArch::Conv3x16, "conv3-16"},
                                              {EmbedderArch::Conv3x64, "conv3-64"},
                                              {EmbedderArch::Conv5x128, "conv5-128"},
                                              {EmbedderArch::UNet, "unet"}}};
  return table;
}

nlohmann::json EmbedderOptions::to_json() const { return fields_to_json(*this); }

EmbedderOptions EmbedderOptions::from_json(const nlohmann::json& j) {
  return fields_from_json<EmbedderOptions>(j);
}

void EmbedderOptions::validate() const {
  DDIM_CHECK_ARG(channels > 0 && image_size > 0, "embedder channels and size must be positive, got {} and {}",
                 channels, image_size);
}

Embedder::Embedder(const EmbedderOptions& o) : options_(o) {
  o.validate();
  if (o.arch == EmbedderArch::UNet) {
    UNetOptions u;
    u.channels = o.channels;
    u.image_size = o.image_size;
    u.widths = o.widths;
    u.block_depth = o.block_depth;
    u.noise_input = false;
    unet_ = register_module("unet", std::make_shared<UNet>(u));
    return;
  }
  // (kernel, out channels) of each layer; the last produces the seed.
  std::vector<std::pair<int64_t, int64_t>> layers;
  switch (o.arch) {
    case EmbedderArch::Conv1:
      layers = {{5, o.channels}};
      break;
    case EmbedderArch::Conv3x16:
      layers = {{5, 16}, {5, 16}, {5, o.channels}};
      break;
    case EmbedderArch::Conv3x64:
      layers = {{5, 64}, {5, 64}, {5, o.channels}};
      break;
    case EmbedderArch::Conv5x128:
      layers = {{5, 128}, {5, 128}, {3, 128}, {3, 128}, {3, o.channels}};
      break;
    case EmbedderArch::UNet:
      break;
  }
  convs_ = register_module("convs", nn::ModuleList());
  int64_t in = o.channels;
  for (const auto& [k, out] : layers) {
    convs_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, k).padding(k / 2)));
    in = out;
  }
}

torch::Tensor Embedder::forward(const torch::Tensor& images) {
  if (unet_) return std::static_pointer_cast<UNet>(unet_)->forward(images, torch::Tensor());
  auto x = images;
  for (size_t i = 0; i < convs_->size(); ++i) {
    x = convs_[i]->as<nn::Conv2d>()->forward(x);
    if (i + 1 < convs_->size()) x = swish(x);
  }
  return x;
}

void Embedder::set_channels_last(bool on) {
  if (unet_) std::static_pointer_cast<UNet>(unet_)->set_channels_last(on);
}

}  // namespace ddim
