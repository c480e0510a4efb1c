#include "ddim/analysis/inversion_stats.h"

#include <cmath>

#include "ddim/core/error.h"
#include "ddim/core/rng.h"

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

nlohmann::ordered_json InversionStatistics::to_json() const {
  nlohmann::ordered_json j;
  j["steps"] = steps;
  j["top10_correlation"] = {
      {"noise", correlation_noise}, {"latent", correlation_latent}, {"sample", correlation_sample}};
  j["angles_degrees"] = {{"noise", angles[0]}, {"latent", angles[1]}, {"sample", angles[2]}};
  j["assignment_accuracy"] = {{"sample_to_noise", sample_to_noise}, {"noise_to_sample", noise_to_sample}};
  j["noise_latent_mse"] = noise_latent_mse;
  j["noise_sample_distance"] = noise_sample_distance;
  if (distance_map.defined()) {
    auto rows = nlohmann::ordered_json::array();
    auto m = distance_map.to(torch::kFloat64).contiguous();
    for (int64_t r = 0; r < m.size(0); ++r)
      rows.push_back(std::vector<double>(m[r].data_ptr<double>(), m[r].data_ptr<double>() + m.size(1)));
    j["distance_map"] = {{"rows", "trajectory step (x_T first)"},
                         {"columns", "lambda from 0 (x_T) to 1 (latent)"},
                         {"values", rows}};
  }
  return j;
}

InversionStatistics inversion_statistics(const Denoiser& d, const torch::Tensor& noise, int64_t steps,
                                         int64_t batch, int64_t lambdas) {
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  DDIM_CHECK_ARG(lambdas >= 0, "the number of segment points must not be negative, got {}", lambdas);
  const auto grid = make_time_grid(d.schedule(), steps);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> samples, latents;
  std::vector<std::vector<torch::Tensor>> trajectories;  // per batch, per grid point
  const auto eps = d.eps_fn();
  SampleOptions keep;
  keep.keep_trajectory = lambdas > 0;
  for (int64_t i = 0; i < noise.size(0); i += batch) {
    auto z = noise.slice(0, i, std::min(noise.size(0), i + batch)).to(d.device());
    auto r = ddim_sample(eps, z, grid, keep);
    samples.push_back(r.x.to(torch::kCPU));
    latents.push_back(ddim_invert(eps, r.x, grid).x.to(torch::kCPU));
    if (keep.keep_trajectory) {
      for (auto& s : r.trajectory) s = s.to(torch::kCPU);
      trajectories.push_back(r.trajectory);
    }
  }
  const auto x0 = torch::cat(samples), latent = torch::cat(latents);
  InversionStatistics s;
  s.steps = steps;
  s.correlation_noise = top_pixel_correlation(noise);
  s.correlation_latent = top_pixel_correlation(latent);
  s.correlation_sample = top_pixel_correlation(x0);
  s.angles = triangle_angles(noise, latent, x0);
  std::tie(s.sample_to_noise, s.noise_to_sample) = assignment_accuracy(noise, x0);
  s.noise_latent_mse = (noise - latent).square().mean().item<double>();
  s.noise_sample_distance = (noise - x0).flatten(1).norm(2, 1).mean().item<double>();
  if (lambdas > 0) {
    std::vector<torch::Tensor> trajectory;
    for (size_t t = 0; t < trajectories[0].size(); ++t) {
      std::vector<torch::Tensor> parts;
      for (const auto& b : trajectories) parts.push_back(b[t]);
      trajectory.push_back(torch::cat(parts));
    }
    s.distance_map =
        segment_distance_map(trajectory, noise, latent, torch::linspace(0, 1, lambdas, torch::kFloat64));
  }
  return s;
}

}  // namespace ddim
