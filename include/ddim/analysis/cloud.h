// The shape of emb(x): measurements of a cloud of seeds that all generate (nearly) the same
// image x (seed paper section 5.1, Fig. 12-14). A cloud is [K, *shape]; its seeds are
// flattened to D-dimensional vectors where that matters.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <vector>

#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"

namespace ddim {

/// Mean Euclidean distance over all pairs of the K seeds.
double mean_pairwise_distance(const torch::Tensor& cloud);

/// The same per dimension: mean over pairs of ||a - b|| / sqrt(D), the root-mean-square
/// difference per pixel (two independent N(0, I) seeds give about sqrt(2)).
double mean_pairwise_distance_per_pixel(const torch::Tensor& cloud);

/// Row k is the mean of the first k + 1 seeds: [K, *shape] (Fig. 13).
torch::Tensor progressive_means(const torch::Tensor& cloud);

/// `n` random internal points of the cloud, sum_i w_i z_i with weights uniform on the simplex
/// (Dirichlet(1): normalised exponentials), [n, *shape] (Fig. 12). The weights [n, K] are
/// returned through `weights` when given.
torch::Tensor random_convex_combinations(const torch::Tensor& cloud, int64_t n, at::Generator& generator,
                                         torch::Tensor* weights = nullptr);

/// Principal components of a cloud [K, *shape]: at most min(K - 1, D) of them, by the SVD of
/// the centred [K, D] matrix; eigenvalues of the sample covariance (divided by K - 1),
/// descending.
struct PrincipalComponents {
  torch::Tensor mean;         ///< [D]
  torch::Tensor components;   ///< [r, D], unit rows
  torch::Tensor eigenvalues;  ///< [r], descending
};
PrincipalComponents principal_components(const torch::Tensor& cloud);

struct CloudAnalysisOptions {
  int64_t combinations = 100;  ///< random internal points (Fig. 12)
  int64_t components = 2;      ///< the most and the least significant components moved along (Fig. 14)
  std::vector<double> factors = {-20, -10, -5, 0, 5, 10, 20};  ///< steps along a unit component
  int64_t steps = 10;                                          ///< S of the sampler
  GridEnd end = GridEnd::PredictedX0;
  int64_t batch = 256;
};

/// Everything the seed paper measures of one cloud, and the images its figures show. Images are
/// in [0, 1] with the model's padding cropped; MSEs are against the target.
struct CloudAnalysis {
  double pairwise_distance = 0, pairwise_distance_per_pixel = 0, seed_norm_per_pixel = 0;
  torch::Tensor seed_mse;            ///< [K] each seed's image
  torch::Tensor progressive_means;   ///< [K, *shape] (Fig. 13)
  torch::Tensor progressive_images;  ///< [K, C, H, W] their images
  torch::Tensor progressive_mse;     ///< [K]
  torch::Tensor internal_images;     ///< [combinations, C, H, W] (Fig. 12)
  torch::Tensor convex_mse;          ///< [combinations]
  PrincipalComponents pca;
  std::vector<int64_t> moved_components;    ///< component indices moved along (Fig. 14)
  std::vector<torch::Tensor> moved_images;  ///< per moved component: [factors, C, H, W]
  std::vector<torch::Tensor> moved_change;  ///< per moved component: [factors] MSE to the mean seed's image

  /// The numbers (cloud.json's per-image entry).
  nlohmann::ordered_json to_json() const;
};

/// Analyses a cloud [K, *shape] of seeds of `target` ([1, C, H, W] in [0, 1], padding cropped).
CloudAnalysis analyze_cloud(const Denoiser& denoiser, const torch::Tensor& cloud, const torch::Tensor& target,
                            const CloudAnalysisOptions& options, at::Generator& generator);

}  // namespace ddim
