#include "ddim/analysis/cloud.h"

#include <cmath>

#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/metrics/metrics.h"

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

namespace {
std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}
}  // namespace

nlohmann::ordered_json CloudAnalysis::to_json() const {
  nlohmann::ordered_json j;
  j["pairwise_distance"] = pairwise_distance;
  j["pairwise_distance_per_pixel"] = pairwise_distance_per_pixel;
  j["seed_norm_per_pixel"] = seed_norm_per_pixel;
  j["seed_mse"] = {{"mean", seed_mse.mean().item<double>()},
                   {"min", seed_mse.min().item<double>()},
                   {"max", seed_mse.max().item<double>()}};
  j["mean_seed_mse"] = progressive_mse[-1].item<double>();
  j["progressive_mse"] = to_vector(progressive_mse);
  j["convex_mse"] = {{"mean", convex_mse.mean().item<double>()}, {"max", convex_mse.max().item<double>()}};
  j["eigenvalues"] = to_vector(pca.eigenvalues);
  return j;
}

CloudAnalysis analyze_cloud(const Denoiser& d, const torch::Tensor& cloud, const torch::Tensor& target,
                            const CloudAnalysisOptions& o, at::Generator& gen) {
  const auto& info = d.data();
  DDIM_CHECK_ARG(info.is_image(), "cloud analysis renders images; this model works on points");
  DDIM_CHECK_ARG(cloud.dim() == static_cast<int64_t>(info.shape.size()) + 1 && cloud.size(0) >= 2 &&
                     cloud.sizes().slice(1).vec() == info.shape,
                 "a cloud is [K, {}] with K >= 2, got {}", fmt::join(info.shape, ", "),
                 fmt::join(cloud.sizes(), "x"));
  DDIM_CHECK_ARG(target.dim() == 4 && target.size(0) == 1, "the target is one image [1, C, H, W], got {}",
                 fmt::join(target.sizes(), "x"));
  DDIM_CHECK_ARG(o.combinations > 0 && o.components > 0 && !o.factors.empty(),
                 "cloud analysis needs internal points, components and factors");
  const auto grid = make_time_grid(d.schedule(), o.steps, o.end);
  auto render = [&](const torch::Tensor& z) { return info.crop(generate(d, z, grid, {}, o.batch)); };
  auto mse_to_target = [&](const torch::Tensor& images) {
    return mse_per_image(images, target.expand_as(images));
  };
  CloudAnalysis a;
  a.pairwise_distance = mean_pairwise_distance(cloud);
  a.pairwise_distance_per_pixel = mean_pairwise_distance_per_pixel(cloud);
  a.seed_norm_per_pixel =
      (cloud.flatten(1).norm(2, 1) / std::sqrt(static_cast<double>(cloud[0].numel()))).mean().item<double>();
  a.seed_mse = mse_to_target(render(cloud));
  a.progressive_means = progressive_means(cloud);
  a.progressive_images = render(a.progressive_means);
  a.progressive_mse = mse_to_target(a.progressive_images);
  a.internal_images = render(random_convex_combinations(cloud, o.combinations, gen));
  a.convex_mse = mse_to_target(a.internal_images);
  a.pca = principal_components(cloud);
  // From the mean seed along the most and the least significant components.
  const int64_t r = a.pca.eigenvalues.size(0);
  for (int64_t c = 0; c < std::min(o.components, r); ++c) a.moved_components.push_back(c);
  for (int64_t c = std::max(std::min(o.components, r), r - o.components); c < r; ++c)
    a.moved_components.push_back(c);
  const auto mean_seed = a.pca.mean.to(torch::kFloat32).view(cloud[0].sizes());
  const auto base = render(mean_seed.unsqueeze(0));
  for (auto c : a.moved_components) {
    std::vector<torch::Tensor> moved;
    for (double f : o.factors)
      moved.push_back(mean_seed + f * a.pca.components[c].to(torch::kFloat32).view(cloud[0].sizes()));
    a.moved_images.push_back(render(torch::stack(moved)));
    a.moved_change.push_back(mse_per_image(a.moved_images.back(), base.expand_as(a.moved_images.back())));
  }
  return a;
}

}  // namespace ddim
