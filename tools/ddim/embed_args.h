// How the embedding commands (invert, reconstruct, interpolate, embed, ...) map images to
// seeds: DDIM inversion, fixed-point inversion, or a trained embedding network, each
// optionally refined by gradient descent on the seeds (seed paper Fig. 18).
#pragma once

#include "common.h"
#include "ddim/ddim.h"
#include "ddim/denoiser.h"
#include "ddim/embedder_trainer.h"
#include "ddim/pipeline.h"
#include "ddim/synthesis.h"
#include "sampling_args.h"

namespace ddim::cli {

struct EmbedArgs {
  std::string method = "ddim";
  std::string label = "target";
  int64_t iters = 3;
  bool average = false;
  std::string embedder;
  bool force = false;
  int64_t refine = 0;
  double refine_lr = 1e-2;

  InvertOptions invert_options() const;
  /// The method in effect: --embedder alone implies "embedder".
  std::string resolved_method() const { return !embedder.empty() && method == "ddim" ? "embedder" : method; }
  std::string describe() const;
};

/// Declares --method, --label, --iters, --average, --embedder, --force, --refine, --refine-lr.
void add_embed_options(CLI::App* sub, EmbedArgs& a, bool with_refine = true);

/// Gradient-descent refinement of seeds of `images` (one seed per image), e.refine iterations.
torch::Tensor refine_seeds(const Denoiser& d, const torch::Tensor& images, const torch::Tensor& seeds,
                           const EmbedArgs& e, const SamplerArgs& s);

/// The semantic codes z_sem of images in [0, 1] for a conditional model (Diff-AE), [N, d] on
/// the CPU; undefined for unconditional models.
torch::Tensor semantic_codes(const Denoiser& d, const torch::Tensor& images, int64_t batch);

/// What an image is embedded into: its seed, and for a diffusion autoencoder its semantic
/// code (the seed is then the stochastic code x_T, inverted conditioned on it).
struct Embedding {
  torch::Tensor seeds;  ///< [N, *shape]
  torch::Tensor codes;  ///< [N, d], or undefined
};

/// Images in [0, 1] (model shape) -> seeds (and codes), on the CPU, by the chosen method.
/// `model_path` names the denoiser (an embedder must belong to it).
Embedding embed_images(const Denoiser& d, const std::string& model_path, const torch::Tensor& images,
                       const EmbedArgs& e, const SamplerArgs& s, const ProgressFn& progress);

}  // namespace ddim::cli
