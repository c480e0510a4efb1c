// The gravitational map of a 2-D model (seed paper section 5, Fig. 9): a grid of seeds over the
// plane, each moved to the point the sampler generates from it; and the embedding region
// emb(x) of a data point x, the seeds that generate (nearly) x.
#pragma once

#include <torch/torch.h>

#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"

namespace ddim {

struct GravityMap {
  torch::Tensor seeds;  ///< [G * G, 2] the grid over [-range, range]^2 (standardised units)
  torch::Tensor ends;   ///< [G * G, 2] what each seed generates (standardised units)
};

/// A `grid` x `grid` lattice of seeds over [-range, range]^2 through the sampler along `times`.
/// Throws ddim::InvalidArgument for a model that is not of 2-D points.
GravityMap gravity_map(const Denoiser& denoiser, int64_t grid, double range, const TimeGrid& times);

/// Indices of the map's seeds that generate within `radius` of `point` [2] (standardised).
torch::Tensor embedding_region(const GravityMap& map, const torch::Tensor& point, double radius);

}  // namespace ddim
