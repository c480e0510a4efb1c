// Statistics of DDIM inversion ("there and back again", section 4): generate x_0 from noise
// x_T, invert it to the latent x^_T, and measure how the three relate.
#pragma once

#include <torch/torch.h>

#include <array>
#include <utility>
#include <vector>

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

}  // namespace ddim
