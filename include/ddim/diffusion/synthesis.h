// Gradient-descent seed synthesis (seed paper section 5.1, eq. 12, with the objective of the
// authors' code): for target images x (in [0, 1]) find seeds z whose S-step DDIM output
// reproduces them,
//     min_z  d(x, destandardise(DDIM_S(z))) + 0.005 mean(z^2),
// d the MAE (or MSE), with Adam (lr 1e-2) for 1500 iterations from z ~ N(0, I) or from given
// seeds (refinement of an embedder's or an inversion's seeds). K seeds per image are
// optimised in parallel; since every seed's objective is its own, they form a cloud of
// samples of emb(x). The denoiser is frozen (eval mode, no weight gradients); gradients flow
// through every unrolled step, optionally with per-step checkpointing (unrolled.h).
#pragma once

#include <torch/torch.h>

#include <functional>

#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/nn/loss.h"

namespace ddim {

struct SynthesisOptions {
  int64_t steps = 10;                  ///< S, DDIM steps of the unrolled sampler
  GridEnd end = GridEnd::PredictedX0;  ///< the sampler grid's last point (ddim.h)
  int64_t iterations = 1500;           ///< Adam iterations
  double lr = 1e-2;                    ///< Adam learning rate
  Loss loss = Loss::MAE;               ///< distance to the target
  double seed_penalty = 0.005;         ///< weight of mean(z^2), which keeps seeds Gaussian-sized
  bool checkpointing = false;          ///< per-step gradient checkpointing
  double tolerance = 0.0;              ///< stop when every seed's distance is below this (0: never)
  int64_t batch = 256;                 ///< seeds optimised together (groups run one after another)
  /// Class-conditional models: each target image's condition [I, classes + 1] (undefined: the
  /// null class) and the guidance the sampler runs with.
  Condition condition;
};

/// Called after each iteration with the iteration number (1-based) and the distance of
/// every seed of the current group, [G] (no penalty), and the group's index range.
using SynthesisCallback =
    std::function<void(int64_t iteration, const torch::Tensor& distance, int64_t begin, int64_t end)>;

struct SynthesisResult {
  torch::Tensor seeds;     ///< [I, K, *shape] on the CPU
  torch::Tensor distance;  ///< [I, K] final distance of each seed's output to its target
  torch::Tensor outputs;   ///< [I, K, *shape] the seeds' images, data units (images clipped)
  int64_t iterations = 0;  ///< iterations run (the largest over groups)
};

/// targets: [I, *shape] in data units (images in [0, 1], the model's padded shape).
/// init: [I, K, *shape] start seeds, or undefined to draw K per image from `generator`.
SynthesisResult synthesize_seeds(const Denoiser& denoiser, const torch::Tensor& targets,
                                 int64_t seeds_per_image, const torch::Tensor& init,
                                 const SynthesisOptions& options, at::Generator& generator,
                                 const SynthesisCallback& callback = {});

}  // namespace ddim
