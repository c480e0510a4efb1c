#include "ddim/metrics/frechet.h"

#include "ddim/core/error.h"

namespace ddim {

double frechet_distance(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  auto a = a_in.to(torch::kFloat64), b = b_in.to(torch::kFloat64);
  DDIM_CHECK_ARG(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1) && a.size(0) >= 2 && b.size(0) >= 2,
                 "the Fréchet distance needs two feature sets [N, D] of one width, N >= 2");
  auto mu_a = a.mean(0), mu_b = b.mean(0);
  auto cov = [](const torch::Tensor& x, const torch::Tensor& mu) {
    auto c = x - mu;
    return c.t().matmul(c) / static_cast<double>(x.size(0) - 1);
  };
  auto sa = cov(a, mu_a), sb = cov(b, mu_b);
  // Tr (S_a S_b)^(1/2) = Tr (S_a^(1/2) S_b S_a^(1/2))^(1/2): symmetric, so eigh applies.
  auto eig = torch::linalg_eigh(sa);
  auto root_a =
      std::get<1>(eig).matmul(torch::diag(std::get<0>(eig).clamp_min(0).sqrt())).matmul(std::get<1>(eig).t());
  auto m = root_a.matmul(sb).matmul(root_a);
  m = (m + m.t()) / 2;
  const double tr_sqrt = std::get<0>(torch::linalg_eigh(m)).clamp_min(0).sqrt().sum().item<double>();
  return ((mu_a - mu_b).square().sum() + sa.trace() + sb.trace()).item<double>() - 2 * tr_sqrt;
}

}  // namespace ddim
