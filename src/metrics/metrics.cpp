#include "ddim/metrics/metrics.h"

#include <cmath>

#include "ddim/core/error.h"

namespace ddim {

torch::Tensor mse_per_image(const torch::Tensor& a, const torch::Tensor& b) {
  DDIM_CHECK_ARG(a.sizes() == b.sizes(), "cannot compare {} with {}", fmt::join(a.sizes(), "x"),
                 fmt::join(b.sizes(), "x"));
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).square().flatten(1).mean(1);
}

torch::Tensor psnr_per_image(const torch::Tensor& a, const torch::Tensor& b) {
  return 10.0 * torch::log10(1.0 / mse_per_image(a, b).clamp_min(1e-10));
}

torch::Tensor ssim_per_image(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  DDIM_CHECK_ARG(a_in.dim() == 4 && a_in.sizes() == b_in.sizes(),
                 "SSIM needs two image batches [N, C, H, W] of one shape");
  auto a = a_in.to(torch::kFloat64), b = b_in.to(torch::kFloat64);
  const int64_t c = a.size(1);
  int64_t win = std::min<int64_t>({11, a.size(2), a.size(3)});
  if (win % 2 == 0) --win;
  const double sigma = 1.5 * static_cast<double>(win) / 11.0;
  auto r = torch::arange(win, torch::kFloat64) - static_cast<double>(win / 2);
  auto g = torch::exp(-(r * r) / (2 * sigma * sigma));
  g = g / g.sum();
  auto kernel = torch::outer(g, g).view({1, 1, win, win}).repeat({c, 1, 1, 1});
  auto filter = [&](const torch::Tensor& x) {
    return torch::nn::functional::conv2d(x, kernel, torch::nn::functional::Conv2dFuncOptions().groups(c));
  };
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto mu_a = filter(a);
  auto mu_b = filter(b);
  auto saa = filter(a * a) - mu_a * mu_a;
  auto sbb = filter(b * b) - mu_b * mu_b;
  auto sab = filter(a * b) - mu_a * mu_b;
  auto map =
      ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (saa + sbb + c2));
  return map.flatten(1).mean(1);
}

ReconstructionReport ReconstructionReport::compute(const torch::Tensor& originals,
                                                   const torch::Tensor& recon) {
  ReconstructionReport r;
  auto a = originals.detach().to(torch::kCPU), b = recon.detach().to(torch::kCPU);
  r.mse = mse_per_image(a, b);
  r.psnr = psnr_per_image(a, b);
  if (a.dim() == 4) r.ssim = ssim_per_image(a, b);
  return r;
}

nlohmann::ordered_json ReconstructionReport::to_json(const nlohmann::ordered_json& extra) const {
  nlohmann::ordered_json j;
  auto entry = [&](int64_t i) {
    nlohmann::ordered_json e;
    e["mse"] = mse[i].item<double>();
    e["psnr"] = psnr[i].item<double>();
    if (ssim.defined()) e["ssim"] = ssim[i].item<double>();
    return e;
  };
  nlohmann::ordered_json mean;
  mean["mse"] = mse.mean().item<double>();
  mean["psnr"] = psnr.mean().item<double>();
  if (ssim.defined()) mean["ssim"] = ssim.mean().item<double>();
  j["mean"] = mean;
  j["count"] = mse.size(0);
  for (const auto& [k, v] : extra.items()) j[k] = v;
  j["per_image"] = nlohmann::ordered_json::array();
  for (int64_t i = 0; i < mse.size(0); ++i) j["per_image"].push_back(entry(i));
  return j;
}

}  // namespace ddim
