#include "ddim/data/toy.h"

#include <cmath>

#include "ddim/core/error.h"
#include "ddim/core/rng.h"

namespace ddim {

const std::vector<std::string>& toy_names() {
  static const std::vector<std::string> names = {"circles", "two-moons", "gaussian"};
  return names;
}

torch::Tensor toy_gaussian_mean() { return torch::tensor({0.5f, -0.5f}); }

torch::Tensor toy_gaussian_covariance() { return torch::tensor({1.0f, 0.6f, 0.6f, 0.5f}).view({2, 2}); }

torch::Tensor make_toy_points(const std::string& name, int64_t n, uint64_t seed) {
  DDIM_CHECK_ARG(n > 0, "toy set size must be positive, got {}", n);
  auto gen = make_generator(mix_seed(seed, 0x70795eed));
  if (name == "gaussian") {
    const auto chol = torch::linalg_cholesky(toy_gaussian_covariance());
    return randn({n, 2}, gen).matmul(chol.t()) + toy_gaussian_mean();
  }
  const int64_t first = n / 2, second = n - first;
  auto angle_a = rand({first}, gen) * M_PI;
  auto angle_b = rand({second}, gen) * M_PI;
  torch::Tensor a, b;
  double jitter = 0;
  if (name == "circles") {
    angle_a = angle_a * 2;
    angle_b = angle_b * 2;
    a = torch::stack({torch::cos(angle_a), torch::sin(angle_a)}, 1);
    b = 0.5 * torch::stack({torch::cos(angle_b), torch::sin(angle_b)}, 1);
    jitter = 0.03;
  } else if (name == "two-moons") {
    a = torch::stack({torch::cos(angle_a), torch::sin(angle_a)}, 1);
    b = torch::stack({1 - torch::cos(angle_b), 0.5 - torch::sin(angle_b)}, 1);
    jitter = 0.05;
  } else {
    DDIM_CHECK_ARG(false, "unknown toy set '{}' (valid: {})", name, fmt::join(toy_names(), ", "));
  }
  auto points = torch::cat({a, b}, 0) + jitter * randn({n, 2}, gen);
  // Interleave the two parts so that any prefix holds both.
  return points.index_select(0, randperm(n, gen));
}

}  // namespace ddim
