// Model independence (seed paper section 5, Fig. 10): the same seeds through two denoisers
// trained on the same data (even of different widths) give nearly the same images; the mean
// squared distance between the two outputs is two to three orders of magnitude below that
// between random samples of one model.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/pipeline.h"

namespace ddim {

struct ModelIndependence {
  torch::Tensor images_a, images_b;  ///< [N, C, H, W] in [0, 1] (padding cropped), or points
  torch::Tensor same_seed_mse;       ///< [N] between the two models' images of each seed
  torch::Tensor random_pairs_mse;    ///< [N] between model a's images of seeds i and i - 1

  /// Mean random-pair MSE over mean same-seed MSE.
  double ratio() const;
  nlohmann::ordered_json to_json() const;
};

/// Generates `seeds` [N, *shape] (N >= 2) with both denoisers along S-step grids and compares.
/// Throws ddim::InvalidArgument when the models work on different shapes.
ModelIndependence model_independence(const Denoiser& a, const Denoiser& b, const torch::Tensor& seeds,
                                     int64_t steps, GridEnd end = GridEnd::PredictedX0, int64_t batch = 256,
                                     const ProgressFn& progress = {});

}  // namespace ddim
