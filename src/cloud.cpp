#include "ddim/cloud.h"

#include <cmath>

#include "ddim/error.h"
#include "ddim/rng.h"

namespace ddim {
namespace {
torch::Tensor flat(const torch::Tensor& cloud) {
  DDIM_CHECK_ARG(cloud.dim() >= 2 && cloud.size(0) >= 2, "a cloud needs at least two seeds, got shape {}",
                 fmt::join(cloud.sizes(), "x"));
  return cloud.to(torch::kFloat64).flatten(1);
}
}  // namespace

double mean_pairwise_distance(const torch::Tensor& cloud) {
  auto z = flat(cloud);
  const int64_t k = z.size(0);
  auto d = torch::cdist(z.unsqueeze(0), z.unsqueeze(0)).squeeze(0);
  return (d.sum() / static_cast<double>(k * (k - 1))).item<double>();  // the diagonal is 0
}

double mean_pairwise_distance_per_pixel(const torch::Tensor& cloud) {
  return mean_pairwise_distance(cloud) / std::sqrt(static_cast<double>(flat(cloud).size(1)));
}

torch::Tensor progressive_means(const torch::Tensor& cloud) {
  auto counts = torch::arange(1, cloud.size(0) + 1, cloud.options());
  std::vector<int64_t> shape(cloud.dim(), 1);
  shape[0] = cloud.size(0);
  return cloud.cumsum(0) / counts.view(shape);
}

torch::Tensor random_convex_combinations(const torch::Tensor& cloud, int64_t n, at::Generator& gen,
                                         torch::Tensor* weights) {
  DDIM_CHECK_ARG(n > 0, "the number of internal points must be positive, got {}", n);
  const int64_t k = cloud.size(0);
  // Normalised exponentials are Dirichlet(1, ..., 1): uniform on the simplex.
  auto e = -torch::log(rand({n, k}, gen).to(torch::kFloat64).clamp_min(1e-12));
  auto w = e / e.sum(1, true);
  if (weights) *weights = w;
  return w.matmul(flat(cloud))
      .view([&] {
        auto s = cloud.sizes().vec();
        s[0] = n;
        return s;
      }())
      .to(cloud.scalar_type());
}

PrincipalComponents principal_components(const torch::Tensor& cloud) {
  auto z = flat(cloud);
  const int64_t k = z.size(0);
  PrincipalComponents pc;
  pc.mean = z.mean(0);
  auto centred = z - pc.mean;
  // centred = U S V^T; the covariance's eigenvectors are V's columns, eigenvalues S^2/(K-1).
  auto svd = torch::linalg_svd(centred, /*full_matrices=*/false);
  auto s = std::get<1>(svd), vh = std::get<2>(svd);
  const int64_t r = std::min<int64_t>(k - 1, z.size(1));
  pc.eigenvalues = (s.slice(0, 0, r).square() / static_cast<double>(k - 1));
  pc.components = vh.slice(0, 0, r);
  return pc;
}

}  // namespace ddim
