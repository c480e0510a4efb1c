// Statistics of DDIM inversion ("there and back again", section 4): generate x_0 from noise
// x_T, invert it to the latent x^_T, and measure how the three relate.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <array>
#include <utility>
#include <vector>

#include "ddim/diffusion/denoiser.h"

namespace ddim {

/// The mean of the `k` largest absolute Pearson correlations between distinct pixels (each
/// pixel a variable, each example an observation) of a batch [N, ...] (its Table 1: about
/// 0.16 for 1000 Gaussian noises of 3072 pixels, far more for images).
double top_pixel_correlation(const torch::Tensor& batch, int64_t k = 10);

/// Angles in degrees of the triangles (a_i, b_i, c_i) at each vertex, averaged over the
/// batch: {angle at a, angle at b, angle at c} (its Fig. 2, with a = noise, b = latent,
/// c = sample).
std::array<double, 3> triangle_angles(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c);

/// Distances between trajectory states and points of the segment from x_T to x^_T (its
/// Fig. 3): entry [t, l] is the batch mean of || (1 - l) x_T + l x^_T - x_t ||_2 for the
/// `lambdas` values l. trajectory: the states x_t in sampling order, each [N, ...].
torch::Tensor segment_distance_map(const std::vector<torch::Tensor>& trajectory, const torch::Tensor& noise,
                                   const torch::Tensor& latent, const torch::Tensor& lambdas);

/// Assignment by smallest L2 distance (its Table 2): the fraction of samples whose nearest
/// noise is their own (x_0 -> x_T), and of noises whose nearest sample is their own
/// (x_T -> x_0). Rows of `noises` and `samples` correspond.
std::pair<double, double> assignment_accuracy(const torch::Tensor& noises, const torch::Tensor& samples);

/// Everything its section 4 measures for one model and one S, in the model's own
/// (standardised) space: samples x_0 from the noises x_T, their inversions x^_T, and how the
/// three relate.
struct InversionStatistics {
  int64_t steps = 0;
  double correlation_noise = 0, correlation_latent = 0, correlation_sample = 0;  ///< Table 1
  std::array<double, 3> angles{};                   ///< at the noise, the latent, the sample (Fig. 2)
  double sample_to_noise = 0, noise_to_sample = 0;  ///< assignment accuracies (Table 2)
  double noise_latent_mse = 0;                      ///< mean squared difference of x_T and x^_T
  double noise_sample_distance = 0;                 ///< mean ||x_T - x_0||
  torch::Tensor distance_map;  ///< [S + 1, lambdas] (Fig. 3); undefined when not asked for

  nlohmann::ordered_json to_json() const;
};

/// Samples `noise` [N, *shape] with S = `steps` DDIM steps, inverts the samples and measures;
/// with `lambdas` > 0 also the distance map over that many points of the noise-latent segment.
InversionStatistics inversion_statistics(const Denoiser& denoiser, const torch::Tensor& noise, int64_t steps,
                                         int64_t batch, int64_t lambdas = 0);

}  // namespace ddim
