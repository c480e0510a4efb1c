// Small, fixed `.pt` material for the tensor and checkpoint fuzz targets and their corpus: a
// denoiser checkpoint of a 1x8x8 U-Net, and storage records the targets serve to a raw pickle.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/network.h"

namespace ddim::fuzz {

/// A denoiser checkpoint as `ddim train` writes one, of a U-Net on 1x8x8 images (deterministic).
inline Checkpoint tiny_denoiser_checkpoint() {
  torch::manual_seed(0);
  const nlohmann::json arch = {{"kind", "unet"},   {"channels", 1},       {"widths", {2, 4}},
                               {"block_depth", 1}, {"embedding_dims", 2}, {"image_size", 8},
                               {"norm", "group"},  {"groups", 2}};
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
  ck.states["model"] = module_state(*net);
  ck.blobs["optimizer"] = std::string("\x01\x02\x03", 3);
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
