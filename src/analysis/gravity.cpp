#include "ddim/analysis/gravity.h"

#include "ddim/core/error.h"

namespace ddim {

GravityMap gravity_map(const Denoiser& d, int64_t grid, double range, const TimeGrid& times) {
  DDIM_CHECK_ARG(d.data().shape == std::vector<int64_t>{2},
                 "gravity maps need a model of 2-D points, this one's examples are {}",
                 fmt::join(d.data().shape, "x"));
  DDIM_CHECK_ARG(grid >= 2 && range > 0,
                 "the grid needs at least 2 points a side and a positive range, got {} and {}", grid, range);
  auto axis = torch::linspace(-range, range, grid);
  auto mesh = torch::meshgrid({axis, axis}, "xy");
  GravityMap m;
  m.seeds = torch::stack({mesh[0].flatten(), mesh[1].flatten()}, 1);
  torch::NoGradGuard no_grad;
  m.ends = ddim_sample(d.eps_fn(), m.seeds.to(d.device()), times).x.to(torch::kCPU);
  return m;
}

torch::Tensor embedding_region(const GravityMap& map, const torch::Tensor& point, double radius) {
  DDIM_CHECK_ARG(radius > 0, "the radius must be positive, got {}", radius);
  return ((map.ends - point.to(map.ends.dtype()).view({1, 2})).norm(2, 1) < radius).nonzero().squeeze(1);
}

}  // namespace ddim
