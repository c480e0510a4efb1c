#include "ddim/analysis/independence.h"

#include <cmath>

#include "ddim/core/error.h"
#include "ddim/metrics/metrics.h"

namespace ddim {

double ModelIndependence::ratio() const {
  return random_pairs_mse.mean().item<double>() / std::max(same_seed_mse.mean().item<double>(), 1e-30);
}

nlohmann::ordered_json ModelIndependence::to_json() const {
  nlohmann::ordered_json j;
  j["n"] = same_seed_mse.size(0);
  j["same_seed_mse"] = same_seed_mse.mean().item<double>();
  j["random_pairs_mse"] = random_pairs_mse.mean().item<double>();
  j["ratio"] = ratio();
  j["orders_of_magnitude"] = std::log10(ratio());
  return j;
}

ModelIndependence model_independence(const Denoiser& a, const Denoiser& b, const torch::Tensor& seeds,
                                     int64_t steps, GridEnd end, int64_t batch, const ProgressFn& progress) {
  DDIM_CHECK_ARG(a.data().shape == b.data().shape, "the two models work on different shapes ({} and {})",
                 fmt::join(a.data().shape, "x"), fmt::join(b.data().shape, "x"));
  DDIM_CHECK_ARG(seeds.size(0) >= 2, "model independence needs at least two seeds, got {}", seeds.size(0));
  const int64_t n = seeds.size(0);
  ModelIndependence r;
  r.images_a = a.data().crop(
      generate(a, seeds, make_time_grid(a.schedule(), steps, end), {}, batch, [&](int64_t done) {
        if (progress) progress(done);
      }));
  r.images_b = b.data().crop(
      generate(b, seeds, make_time_grid(b.schedule(), steps, end), {}, batch, [&](int64_t done) {
        if (progress) progress(n + done);
      }));
  // Same seed, two models; against different seeds, one model (the neighbouring sample).
  r.same_seed_mse = mse_per_image(r.images_a, r.images_b);
  r.random_pairs_mse = mse_per_image(r.images_a, r.images_a.roll(1, 0));
  return r;
}

}  // namespace ddim
