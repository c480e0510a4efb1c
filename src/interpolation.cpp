#include "ddim/interpolation.h"

#include <cmath>

#include "ddim/error.h"

namespace ddim {

std::string to_string(Interpolation m) { return m == Interpolation::Lerp ? "lerp" : "slerp"; }

Interpolation interpolation_from_string(const std::string& s) {
  if (s == "lerp") return Interpolation::Lerp;
  if (s == "slerp") return Interpolation::Slerp;
  DDIM_CHECK_ARG(false, "unknown interpolation '{}' (valid: lerp, slerp)", s);
  return Interpolation::Lerp;
}

torch::Tensor interpolate_seed(const torch::Tensor& a, const torch::Tensor& b, double l, Interpolation mode) {
  DDIM_CHECK_ARG(a.sizes() == b.sizes(), "cannot interpolate between shapes {} and {}",
                 fmt::join(a.sizes(), "x"), fmt::join(b.sizes(), "x"));
  if (mode == Interpolation::Slerp) {
    const double na = a.norm().item<double>(), nb = b.norm().item<double>();
    const double cos = std::clamp((a * b).sum().item<double>() / std::max(na * nb, 1e-30), -1.0, 1.0);
    const double w = std::acos(cos);
    if (std::sin(w) > 1e-6) return (std::sin((1 - l) * w) * a + std::sin(l * w) * b) / std::sin(w);
  }
  return (1 - l) * a + l * b;
}

torch::Tensor interpolate_seeds(const torch::Tensor& a, const torch::Tensor& b, int64_t frames,
                                Interpolation mode) {
  DDIM_CHECK_ARG(frames >= 2, "interpolation needs at least 2 frames, got {}", frames);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < frames; ++i)
    out.push_back(interpolate_seed(a, b, static_cast<double>(i) / static_cast<double>(frames - 1), mode));
  return torch::stack(out);
}

}  // namespace ddim
