// A trained embedding network (the seed paper's section 5, ddim/nn/embedder.h) as a file
// holds it: the network, the S it was trained for, and the denoiser it belongs to, whose
// fingerprint a pairing is checked against. ddim/training/embedder_trainer.h writes them.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "ddim/io/checkpoint.h"
#include "ddim/nn/embedder.h"

namespace ddim {

/// The denoiser an embedder belongs to.
struct DenoiserRef {
  std::string path;
  std::string fingerprint;
  int64_t step = 0;
  nlohmann::json to_json() const { return {{"path", path}, {"fingerprint", fingerprint}, {"step", step}}; }
  static DenoiserRef of(const Checkpoint& ck, const std::string& path);
};

/// A trained embedder, its options and the denoiser it belongs to.
struct LoadedEmbedder {
  std::shared_ptr<Embedder> network;
  DenoiserRef denoiser;
  int64_t steps = 10;  ///< S it was trained for
};

/// Loads an embedder checkpoint (kind "embedder") in eval mode. When `denoiser` is given,
/// refuses (ddim::InvalidArgument, naming both) a pairing with another denoiser than the one
/// it was trained against, unless `force`.
LoadedEmbedder load_embedder(const std::string& path, const Checkpoint* denoiser = nullptr,
                             const std::string& denoiser_path = {}, bool force = false);
/// The same from a checkpoint already read (`what` names it in messages).
LoadedEmbedder embedder_from_checkpoint(const Checkpoint& ck, const std::string& what,
                                        const Checkpoint* denoiser = nullptr,
                                        const std::string& denoiser_path = {}, bool force = false);

}  // namespace ddim
