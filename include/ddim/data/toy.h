// Two-dimensional toy data sets (seed paper Fig. 9): points that a denoiser learns to
// "attract" the plane to, small enough to draw the whole gravitational map.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ddim {

/// Names of the toy sets: "circles", "two-moons", "gaussian".
const std::vector<std::string>& toy_names();

/// `n` points [n, 2] of the named set, a pure function of `seed`:
///  - circles:   two concentric circles of radius 1 and 0.5 (half the points each), with
///               Gaussian jitter of standard deviation 0.03;
///  - two-moons: the upper half-circle of radius 1 at the origin and the lower half-circle
///               shifted by (1, 0.5), jitter 0.05;
///  - gaussian:  N(mu, Sigma) with mu = (0.5, -0.5), Sigma = [[1, 0.6], [0.6, 0.5]]
///               (see toy_gaussian_mean/covariance).
torch::Tensor make_toy_points(const std::string& name, int64_t n, uint64_t seed);

/// The parameters of the "gaussian" toy set, for closed-form checks.
torch::Tensor toy_gaussian_mean();
torch::Tensor toy_gaussian_covariance();

}  // namespace ddim
