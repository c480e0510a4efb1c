#include "ddim/inversion_stats.h"

#include <cmath>

#include "ddim/error.h"

namespace ddim {

double top_pixel_correlation(const torch::Tensor& batch, int64_t k) {
  auto x = batch.to(torch::kFloat64).flatten(1);
  DDIM_CHECK_ARG(x.size(0) >= 3 && x.size(1) >= 2, "pixel correlations need at least 3 examples of 2 pixels");
  auto centred = x - x.mean(0);
  auto std = centred.square().mean(0).sqrt().clamp_min(1e-12);
  auto z = centred / std;
  auto corr = z.t().matmul(z) / static_cast<double>(x.size(0));  // [D, D]
  const int64_t d = corr.size(0);
  // Each unordered pair once: the strict upper triangle.
  auto upper = torch::triu(corr.abs(), 1);
  auto values = upper.flatten();
  const int64_t pairs = d * (d - 1) / 2;
  k = std::min(k, pairs);
  return std::get<0>(values.topk(k)).mean().item<double>();
}

std::array<double, 3> triangle_angles(const torch::Tensor& a_in, const torch::Tensor& b_in,
                                      const torch::Tensor& c_in) {
  auto a = a_in.to(torch::kFloat64).flatten(1), b = b_in.to(torch::kFloat64).flatten(1),
       c = c_in.to(torch::kFloat64).flatten(1);
  auto angle = [](const torch::Tensor& at, const torch::Tensor& p, const torch::Tensor& q) {
    auto u = p - at, v = q - at;
    auto cos = (u * v).sum(1) / (u.norm(2, 1) * v.norm(2, 1)).clamp_min(1e-30);
    return (torch::acos(cos.clamp(-1, 1)) * (180.0 / M_PI)).mean().item<double>();
  };
  return {angle(a, b, c), angle(b, a, c), angle(c, a, b)};
}

torch::Tensor segment_distance_map(const std::vector<torch::Tensor>& trajectory, const torch::Tensor& noise,
                                   const torch::Tensor& latent, const torch::Tensor& lambdas) {
  DDIM_CHECK_ARG(!trajectory.empty(), "an empty trajectory");
  auto xt = noise.to(torch::kFloat64).flatten(1), lat = latent.to(torch::kFloat64).flatten(1);
  auto l = lambdas.to(torch::kFloat64);
  auto out = torch::empty({static_cast<int64_t>(trajectory.size()), l.size(0)}, torch::kFloat64);
  for (size_t t = 0; t < trajectory.size(); ++t) {
    auto x = trajectory[t].to(torch::kFloat64).flatten(1);
    for (int64_t j = 0; j < l.size(0); ++j) {
      const double lam = l[j].item<double>();
      out[static_cast<int64_t>(t)][j] = ((1 - lam) * xt + lam * lat - x).norm(2, 1).mean();
    }
  }
  return out;
}

std::pair<double, double> assignment_accuracy(const torch::Tensor& noises, const torch::Tensor& samples) {
  auto n = noises.to(torch::kFloat64).flatten(1), s = samples.to(torch::kFloat64).flatten(1);
  DDIM_CHECK_ARG(n.sizes() == s.sizes(), "noises and samples must correspond one to one");
  auto d = torch::cdist(s.unsqueeze(0), n.unsqueeze(0)).squeeze(0);  // [samples, noises]
  auto own = torch::arange(n.size(0));
  const double sample_to_noise = (std::get<1>(d.min(1)) == own).to(torch::kFloat64).mean().item<double>();
  const double noise_to_sample = (std::get<1>(d.min(0)) == own).to(torch::kFloat64).mean().item<double>();
  return {sample_to_noise, noise_to_sample};
}

}  // namespace ddim
