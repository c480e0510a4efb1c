// Any model file ddim writes, loaded as what it is. A checkpoint's kind ("denoiser",
// "gae", "embedder", "classifier") and its network's conditioning say which: an
// unconditional denoiser (the seed paper's), a class-conditional one (classifier-free
// guidance), a diffusion autoencoder (Diff-AE: conditioned on its own z_sem), a DiffuseGAE
// (its Diff-AE decoding through the GAE), an embedding network, or a classifier. Release and
// training checkpoints load alike (a training checkpoint's EMA or raw weights, as asked).
// This is what the CLI's commands and the Python module load a --model with.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "ddim/core/names.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/methods/gae.h"
#include "ddim/methods/trained_embedder.h"
#include "ddim/nn/classifier.h"

namespace ddim {

enum class ModelKind {
  Denoiser,          ///< an unconditional denoiser (or one conditioned on vectors the caller supplies)
  ClassConditional,  ///< a denoiser conditioned on a class label (classifier-free guidance)
  Autoencoder,       ///< a diffusion autoencoder (Diff-AE): conditioned on its own z_sem
  Gae,               ///< a DiffuseGAE: a Diff-AE conditioned on z_sem-hat through its GAE
  Embedder,          ///< an embedding network, image -> seed (the seed paper's section 5)
  Classifier,        ///< a classifier (the Fréchet distance's features, guidance, probes)
};
DDIM_NAMED_ENUM(ModelKind)

struct LoadOptions {
  Weights weights = Weights::EMA;  ///< a training checkpoint's EMA average or raw weights
  bool bf16 = false;               ///< denoisers: evaluations in bf16 autocast
  torch::Device device = torch::kCPU;
};

/// A loaded model. `denoiser` is set for every kind that denoises (Denoiser, ClassConditional,
/// Autoencoder, Gae: a GAE's decodes through z_sem-hat); `gae`, `embedder` and `classifier`
/// for their kinds. Networks are in eval mode without gradients except the denoiser's, whose
/// parameters keep requires_grad as the file left them (a user may fine-tune it).
struct Model {
  ModelKind kind = ModelKind::Denoiser;
  std::string path;
  Checkpoint checkpoint;  ///< the file as read (metadata and states)
  std::optional<Denoiser> denoiser;
  std::optional<GaeModel> gae;
  std::optional<LoadedEmbedder> embedder;
  std::optional<LoadedClassifier> classifier;

  /// The denoiser, or ddim::InvalidArgument naming the file and its kind when it has none
  /// (an embedder or a classifier), for commands that sample, invert or decode.
  const Denoiser& require_denoiser() const;
};

/// Reads `path` and loads what it holds (see above). Throws ddim::Error naming the file for a
/// missing, truncated or corrupt file or an unknown kind.
Model load_model(const std::string& path, const LoadOptions& options = {});
/// The same from a checkpoint already read (`what` names it in messages).
Model model_from_checkpoint(const Checkpoint& ck, const std::string& what, const LoadOptions& options = {});

/// The kind of a denoiser's network: Denoiser, ClassConditional or Autoencoder.
ModelKind denoiser_kind(const Denoiser& denoiser);

}  // namespace ddim
