// The Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017):
//   || mu_1 - mu_2 ||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)).
// ddim computes it on the features of its own small classifier (classifier.h), since no
// Inception weights can be downloaded: it is *not* Inception FID, and figures are comparable
// only between runs that use the same classifier.
#pragma once

#include <torch/torch.h>

namespace ddim {

/// a: [N, D], b: [M, D] feature sets (float64 inside).
double frechet_distance(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace ddim
