// Small, fixed `.pt` material for the tensor and checkpoint fuzz targets and their corpus: a
// denoiser checkpoint of a 1x8x8 U-Net, and storage records the targets serve to a raw pickle.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/methods/gae.h"
#include "ddim/nn/diffae.h"
#include "ddim/nn/gae.h"
#include "ddim/nn/network.h"

namespace ddim::fuzz {

/// A checkpoint of kind "denoiser" of the network `arch` describes on 1x8x8 images, its weights
/// drawn after torch::manual_seed(0) (deterministic), with the EMA state.
inline Checkpoint tiny_checkpoint_of(const nlohmann::json& arch) {
  torch::manual_seed(0);
  auto net = make_network(arch);
  Standardizer stats{torch::full({1}, 0.5f), torch::full({1}, 0.25f)};
  DataInfo data;
  data.spec = "toy";
  data.shape = {1, 8, 8};
  Denoiser d(net, ScheduleOptions{}, stats, data);
  Checkpoint ck;
  ck.meta = d.describe();
  ck.meta["kind"] = "denoiser";
  ck.meta["step"] = 1;
  ck.states["ema"] = module_state(*net);
  return ck;
}

/// A denoiser checkpoint as `ddim train` writes one, of a U-Net on 1x8x8 images (deterministic).
inline Checkpoint tiny_denoiser_checkpoint() {
  const nlohmann::json arch = {{"kind", "unet"},   {"channels", 1},       {"widths", {2, 4}},
                               {"block_depth", 1}, {"embedding_dims", 2}, {"image_size", 8},
                               {"norm", "group"},  {"groups", 2}};
  auto ck = tiny_checkpoint_of(arch);
  for (const auto& [name, t] : ck.states.at("ema")) ck.states["model"][name] = t.clone();  // own storages
  ck.blobs["optimizer"] = std::string("\x01\x02\x03", 3);
  return ck;
}

/// A Diff-AE (kind "denoiser", network "diffae") on 1x8x8 images with a z_sem of 4.
inline Checkpoint tiny_diffae_checkpoint() {
  DiffAEOptions o;
  o.unet.channels = 1;
  o.unet.widths = {2, 4};
  o.unet.block_depth = 1;
  o.unet.embedding_dims = 2;
  o.unet.image_size = 8;
  o.unet.norm = NormKind::Group;
  o.unet.groups = 2;
  o.z_dim = 4;
  return tiny_checkpoint_of(o.to_json());
}

/// A DiffuseGAE (kind "gae") over tiny_diffae_checkpoint: z_dis of 4 in two parts.
inline Checkpoint tiny_gae_checkpoint() {
  const auto ae = tiny_diffae_checkpoint();
  torch::manual_seed(0);
  GaeOptions o;
  o.z_dim = 4;
  o.dis_dim = 4;
  o.width = 8;
  o.mlp_blocks = 1;
  o.bottleneck_blocks = 1;
  o.bottleneck_ratio = 2;
  o.groups = 2;
  Gae gae(o);
  const std::vector<std::string> names = {"a", "b"};
  Checkpoint ck;
  ck.meta["kind"] = "gae";
  ck.meta["gae"] = o.to_json();
  ck.meta["partition"] = Partition::equal(names, 4).to_json();
  ck.meta["attributes"] = nlohmann::json::array(
      {{{"name", "a"}, {"values", {"no", "yes"}}}, {{"name", "b"}, {"values", {"x", "y", "z"}}}});
  AutoencoderRef ref;
  ref.path = "diffae.pt";
  ck.meta["autoencoder"] = ref.to_json();
  ck.meta["autoencoder_model"] = ae.meta;
  ck.meta["step"] = 1;
  ck.states["model"] = module_state(gae);
  ck.states["ema"] = module_state(gae);
  ck.states["autoencoder"] = ae.states.at("ema");
  return ck;
}

/// Storage records "0" to "7" of 4096 bytes: float patterns (one with NaN and infinity), small
/// integers and bytes, so that a mutated pickle can name any of them.
inline std::map<std::string, std::vector<char>> fixed_records() {
  std::map<std::string, std::vector<char>> records;
  for (int k = 0; k < 8; ++k) {
    std::vector<char> bytes(4096);
    if (k < 4) {
      auto t = torch::sin(torch::arange(1024, torch::kFloat32) * (k + 1) * 0.1f);
      if (k == 3) {
        t[5] = NAN;
        t[700] = INFINITY;
      }
      std::memcpy(bytes.data(), t.data_ptr<float>(), 4096);
    } else {
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(k == 4 ? i % 2 : i * k);
    }
    records[std::to_string(k)] = std::move(bytes);
  }
  return records;
}

}  // namespace ddim::fuzz
