// The shape of emb(x): measurements of a cloud of seeds that all generate (nearly) the same
// image x (seed paper section 5.1, Fig. 12-14). A cloud is [K, *shape]; its seeds are
// flattened to D-dimensional vectors where that matters.
#pragma once

#include <torch/torch.h>

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

}  // namespace ddim
