// Embedding images into the seed space (seed paper section 5): emb(x) is the set of seeds
// whose S-step DDIM output is x. One entry point reaches it by any of ddim's methods:
//
//   ddim              plain DDIM inversion (there and back again, eq. 3-4; ddim.h)
//   fixed-point       fixed-point inversion: eps re-evaluated at the unknown point
//                     (Meiri et al. 2023; ReNoise averages the iterates)
//   gradient-descent  seeds from N(0, I) optimised through the unrolled sampler (section 5.1)
//   embedder          a trained embedding network E(x) (section 5.2, Table 1)
// and any of them followed by `refine` gradient-descent iterations from its seeds (Fig. 18).
// A diffusion autoencoder (Diff-AE) embeds an image into its semantic code z_sem (the
// semantic encoder) and its stochastic code x_T: DDIM or fixed-point inversion conditioned on
// z_sem (Diff-AE section 3.2).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>

#include "ddim/core/names.h"
#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/metrics/metrics.h"
#include "ddim/nn/embedder.h"
#include "ddim/nn/loss.h"

namespace ddim {

enum class EmbedMethod { DDIMInversion, FixedPoint, GradientDescent, Embedder };
/// "ddim", "fixed-point", "gradient-descent", "embedder".
DDIM_NAMED_ENUM(EmbedMethod);

struct EmbedOptions {
  EmbedMethod method = EmbedMethod::DDIMInversion;
  int64_t steps = 10;                  ///< S, the DDIM steps the seeds are for
  GridEnd end = GridEnd::PredictedX0;  ///< the grid's last point (ddim.h)
  EpsLabel label = EpsLabel::Target;   ///< plain inversion: the time label of the eps call
  int64_t iterations = 3;              ///< fixed point: K refinements per step
  bool average = false;                ///< fixed point: average the iterates' eps (ReNoise)
  int64_t descent_iterations = 1500;   ///< gradient descent: Adam iterations (the authors' 1500)
  int64_t refine = 0;                  ///< gradient-descent iterations after the method (0: none)
  double lr = 1e-2;                    ///< gradient descent and refinement: Adam's learning rate
  Loss loss = Loss::MAE;               ///< gradient descent and refinement: distance to the image
  double seed_penalty = 0.005;         ///< gradient descent and refinement: weight of mean(z^2)
  bool checkpointing = false;          ///< gradient descent and refinement: per-step checkpointing
  int64_t batch = 256;                 ///< images per batch
  uint64_t seed = 0;                   ///< gradient descent: the initial seeds' stream
  /// Class-conditional models: each image's class condition [N, classes + 1] (undefined: the
  /// null class) and the guidance; seeds are then the inversion (and decoding) under it.
  Condition condition;

  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
  /// Also checks that `denoiser` can be embedded into this way (a diffusion autoencoder only by
  /// conditioned DDIM or fixed-point inversion, without refinement; class conditions only for
  /// a class-conditional model).
  void validate(const Denoiser& denoiser) const;
  TimeGrid grid(const Schedule& schedule) const { return make_time_grid(schedule, steps, end); }
  InvertOptions invert_options() const;
  /// "fixed-point inversion (K = 3) + 50 gradient steps", for titles and logs.
  std::string describe() const;
};

/// Called as work proceeds: the phase ("embed", "refine"), units done and the phase's total
/// (images for embed, iterations x groups for refine).
using EmbedProgress = std::function<void(const std::string& phase, int64_t done, int64_t total)>;

struct Embedding {
  torch::Tensor seeds;      ///< [N, *shape] on the CPU (an autoencoder's stochastic codes x_T)
  torch::Tensor codes;      ///< [N, d] an autoencoder's semantic codes z_sem; otherwise undefined
  torch::Tensor unrefined;  ///< with refinement: the method's own seeds before it; else undefined
  torch::Tensor seconds;    ///< float64 [N]: wall seconds spent on each image (its batch's share)
  double embed_seconds = 0, refine_seconds = 0;
};

/// images: [N, C, H, W] in [0, 1], the model's (padded) shape. `embedder` is the network for
/// EmbedMethod::Embedder (its pairing with the denoiser is load_embedder's check) and ignored
/// otherwise. Throws ddim::InvalidArgument for a method the model cannot use (embedders,
/// gradient descent and refinement on a diffusion autoencoder).
Embedding embed_images(const Denoiser& denoiser, const torch::Tensor& images, const EmbedOptions& options,
                       Embedder* embedder = nullptr, const EmbedProgress& progress = {});

/// Gradient descent on given seeds [N, *shape] towards `images`, one seed per image
/// (seed paper Fig. 18), `options.refine` iterations.
torch::Tensor refine_seeds(const Denoiser& denoiser, const torch::Tensor& images, const torch::Tensor& seeds,
                           const EmbedOptions& options, const EmbedProgress& progress = {});

/// The semantic codes z_sem [N, d] of images in [0, 1] under a diffusion autoencoder's encoder,
/// on the CPU; undefined for a model without one.
torch::Tensor semantic_codes(const Denoiser& denoiser, const torch::Tensor& images, int64_t batch,
                             const ProgressFn& progress = {});
/// The same over a whole data set, streamed in batches (the latent DDIM's training data).
torch::Tensor semantic_codes(const Denoiser& denoiser, const Dataset& data, int64_t batch,
                             const ProgressFn& progress = {});

/// Images -> seeds -> images (the seed paper's Fig. 3 experiment).
struct Reconstruction {
  Embedding embedding;
  torch::Tensor decoded;        ///< the seeds decoded: the embedding's, or random ones (random_xt)
  torch::Tensor outputs;        ///< [N, C, H, W] in [0, 1], padding cropped
  ReconstructionReport report;  ///< outputs against the images, padding cropped
  std::optional<ReconstructionReport> before_refinement;  ///< with refinement: the method alone
};

/// Embeds `images` (as embed_images), then generates them back from the seeds with the same
/// grid, deterministically and without clipping (the inverse of what inversion did). With
/// `random_xt` a diffusion autoencoder decodes its semantic codes from random x_T drawn from
/// `options.seed` (Diff-AE Table 2.a).
Reconstruction reconstruct_images(const Denoiser& denoiser, const torch::Tensor& images,
                                  const EmbedOptions& options, Embedder* embedder = nullptr,
                                  bool random_xt = false, const EmbedProgress& progress = {});

}  // namespace ddim
