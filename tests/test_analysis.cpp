#include <cmath>

#include "ddim/denoiser_trainer.h"
#include "ddim/frechet.h"
#include "ddim/inversion_stats.h"
#include "ddim/mlp.h"
#include "ddim/pipeline.h"
#include "ddim/rng.h"
#include "ddim/toy.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

class Analysis : public SeededTest {};

TEST_F(Analysis, TopPixelCorrelationOfAHandMadeSet) {
  auto a = torch::randn({5000}), b = torch::randn({5000});
  // Pixels 0, 1, 2 are perfectly (anti)correlated; pixel 3 is independent of them.
  auto x = torch::stack({a, 2 * a + 1, -a, b}, 1);
  EXPECT_NEAR(top_pixel_correlation(x, 3), 1.0, 1e-9);
  const double top4 = top_pixel_correlation(x, 4);
  EXPECT_NEAR(top4, 0.75, 0.02);  // three pairs at 1, the fourth near 0
  EXPECT_LT(top_pixel_correlation(torch::randn({2000, 64}), 10), 0.15);
}

TEST_F(Analysis, TriangleAngles) {
  auto a = torch::tensor({{0.0, 0.0}}), b = torch::tensor({{1.0, 0.0}}), c = torch::tensor({{0.0, 1.0}});
  auto right = triangle_angles(a, b, c);
  EXPECT_NEAR(right[0], 90.0, 1e-9);
  EXPECT_NEAR(right[1], 45.0, 1e-9);
  EXPECT_NEAR(right[2], 45.0, 1e-9);
  auto eq = triangle_angles(a, b, torch::tensor({{0.5, std::sqrt(3.0) / 2}}));
  for (double angle : eq) EXPECT_NEAR(angle, 60.0, 1e-6);
}

TEST_F(Analysis, AssignmentAccuracy) {
  auto noise = torch::randn({50, 16});
  auto near = assignment_accuracy(noise, noise + 0.01 * torch::randn({50, 16}));
  EXPECT_EQ(near.first, 1.0);
  EXPECT_EQ(near.second, 1.0);
  auto shuffled = assignment_accuracy(noise, noise.roll(1, 0));
  EXPECT_EQ(shuffled.first, 0.0);
  EXPECT_EQ(shuffled.second, 0.0);
}

TEST_F(Analysis, SegmentDistanceMap) {
  auto xt = torch::zeros({1, 2}), latent = torch::tensor({{2.0, 0.0}});
  auto map = segment_distance_map({xt, torch::tensor({{1.0, 1.0}}), latent}, xt, latent,
                                  torch::tensor({0.0, 0.5, 1.0}, torch::kFloat64));
  EXPECT_NEAR(map[0][0].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(map[2][2].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(map[1][1].item<double>(), 1.0, 1e-12);             // (1,0) to (1,1)
  EXPECT_NEAR(map[1][0].item<double>(), std::sqrt(2.0), 1e-12);  // (0,0) to (1,1)
}

TEST_F(Analysis, FrechetDistanceIsZeroForTheSameSetAndGrowsWithAShift) {
  auto a = torch::randn({4000, 8}, torch::kFloat64);
  EXPECT_NEAR(frechet_distance(a, a), 0.0, 1e-6);
  // A shift changes only the mean term: exactly ||delta||^2.
  auto delta = torch::linspace(0, 1, 8, torch::kFloat64);
  EXPECT_NEAR(frechet_distance(a, a + delta), delta.square().sum().item<double>(), 1e-6);
  EXPECT_LT(frechet_distance(a, a + 0.5 * delta), frechet_distance(a, a + delta));
  // N(0, I) against N(0, 4 I) in D dimensions: D (1 + 4 - 2 * 2) = D.
  auto b = 2 * torch::randn({200000, 4}, torch::kFloat64), c = torch::randn({200000, 4}, torch::kFloat64);
  EXPECT_NEAR(frechet_distance(c, b), 4.0, 0.1);
}

TEST_F(Analysis, ATwoDimensionalMlpTrainedBrieflyMovesSamplesTowardsTheData) {
  DataOptions o;
  o.toy_size = 4096;
  auto data = load_dataset(parse_data_spec("toy:gaussian"), o);
  MLPOptions m;
  m.width = 64;
  m.layers = 3;
  DenoiserTrainOptions t;
  t.batch = 256;
  t.lr = 3e-3;
  t.preview_samples = 0;
  DenoiserTrainer trainer(m.to_json(), ScheduleOptions{}, data, nullptr, t, torch::kCPU);
  auto samples = [&] {
    auto d = trainer.ema_denoiser();
    return generate(d, torch::randn({4000, 2}), make_time_grid(d.schedule(), 20), {}, 4000);
  };
  // Robust measures: a briefly trained model sends ~1% of seeds far away (its first step
  // divides by s(1) = 0.02), so compare the share of samples inside the data's 4-sigma
  // ellipse and the moments of those samples.
  const auto inv = torch::inverse(toy_gaussian_covariance());
  auto inside = [&](const torch::Tensor& x) {
    auto c = x - toy_gaussian_mean();
    return (c.matmul(inv) * c).sum(1) < 16.0;
  };
  auto share = [&](const torch::Tensor& x) { return inside(x).to(torch::kFloat64).mean().item<double>(); };
  auto error = [&](const torch::Tensor& all) {
    auto x = all.index_select(0, inside(all).nonzero().squeeze(1));
    auto c = x - x.mean(0);
    return ((x.mean(0) - toy_gaussian_mean()).square().sum() +
            (c.t().matmul(c) / x.size(0) - toy_gaussian_covariance()).square().sum())
        .item<double>();
  };
  const auto initial = samples();
  for (int64_t s = 0; s < 600; ++s) trainer.step(s);
  const auto trained = samples();
  EXPECT_LT(share(initial), 0.5);
  EXPECT_GT(share(trained), 0.95);
  EXPECT_LT(error(trained), 0.05) << "before " << error(initial);
  EXPECT_LT(error(trained), 0.01 * error(initial));
}
