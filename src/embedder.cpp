#include "ddim/embedder.h"

#include "ddim/error.h"
#include "ddim/network.h"
#include "ddim/unet.h"

namespace ddim {

namespace nn = torch::nn;

const std::vector<std::string>& embedder_archs() {
  static const std::vector<std::string> archs = {"conv1", "conv3-16", "conv3-64", "conv5-128", "unet"};
  return archs;
}

nlohmann::json EmbedderOptions::to_json() const {
  return {{"arch", arch},
          {"channels", channels},
          {"image_size", image_size},
          {"widths", widths},
          {"block_depth", block_depth}};
}

EmbedderOptions EmbedderOptions::from_json(const nlohmann::json& j) {
  EmbedderOptions o;
  o.arch = j.value("arch", o.arch);
  o.channels = j.value("channels", o.channels);
  o.image_size = j.value("image_size", o.image_size);
  o.widths = j.value("widths", o.widths);
  o.block_depth = j.value("block_depth", o.block_depth);
  return o;
}

void EmbedderOptions::validate() const {
  const auto& a = embedder_archs();
  DDIM_CHECK_ARG(std::find(a.begin(), a.end(), arch) != a.end(), "unknown embedder '{}' (valid: {})", arch,
                 fmt::join(a, ", "));
  DDIM_CHECK_ARG(channels > 0 && image_size > 0, "embedder channels and size must be positive");
}

Embedder::Embedder(const EmbedderOptions& o) : options_(o) {
  o.validate();
  if (o.arch == "unet") {
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
  if (o.arch == "conv1") layers = {{5, o.channels}};
  if (o.arch == "conv3-16") layers = {{5, 16}, {5, 16}, {5, o.channels}};
  if (o.arch == "conv3-64") layers = {{5, 64}, {5, 64}, {5, o.channels}};
  if (o.arch == "conv5-128") layers = {{5, 128}, {5, 128}, {3, 128}, {3, 128}, {3, o.channels}};
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
