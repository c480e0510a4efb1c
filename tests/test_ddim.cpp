// DDIM sampling and inversion against closed forms.
//
// Gaussian data x0 ~ N(mu, diag sigma^2) has the exact optimal noise predictor
//   eps*(x_t) = E[eps | x_t] = n (x_t - s mu) / (s^2 sigma^2 + n^2),
// and a one-point data set {x*} has eps*(x_t) = (x_t - s x*) / n, with which every DDIM step
// predicts x0-hat = x* exactly.
#include <cmath>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/nn/unet.h"
#include "ddim/training/denoiser_trainer.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

EpsFn gaussian_eps(const torch::Tensor& mu, const torch::Tensor& sigma) {
  return [mu, sigma](const torch::Tensor& x, const Rates& r) {
    return r.noise * (x - r.signal * mu) / (r.signal * r.signal * sigma * sigma + r.noise * r.noise);
  };
}

EpsFn one_point_eps(const torch::Tensor& point) {
  return [point](const torch::Tensor& x, const Rates& r) {
    if (r.noise == 0) return torch::zeros_like(x);
    return (x - r.signal * point) / r.noise;
  };
}

Schedule schedule_of(ScheduleKind k) {
  ScheduleOptions o;
  o.kind = k;
  return Schedule(o);
}

}  // namespace

class Ddim : public SeededTest {};

TEST_F(Ddim, TimeGridFollowsThePaper) {
  auto s = schedule_of(ScheduleKind::ContinuousCosine);
  auto g = make_time_grid(s, 4);
  ASSERT_EQ(g.steps(), 4);
  const std::vector<double> times = {1.0, 0.75, 0.5, 0.25, 0.0};
  for (size_t i = 0; i < times.size(); ++i) EXPECT_NEAR(g.times[i], times[i], 1e-12);
  EXPECT_NEAR(g.rates[0].signal, 0.02, 1e-12);
  EXPECT_EQ(g.rates.back().signal, 1.0);  // the last step lands on the x0 prediction
  EXPECT_EQ(g.rates.back().noise, 0.0);
  auto g0 = make_time_grid(s, 4, GridEnd::ScheduleZero);
  EXPECT_NEAR(g0.rates.back().signal, 0.95, 1e-12);
  EXPECT_THROW(make_time_grid(s, 0), InvalidArgument);
}

TEST_F(Ddim, GaussianDataIsSampledFromNoise) {
  const int64_t d = 32;
  auto mu = torch::linspace(-1, 1, d), sigma = torch::linspace(0.3, 1.5, d);
  // A schedule that starts clean (linear: s(0) = 1), so that the final x0 prediction is not
  // a posterior mean under noise.
  auto grid = make_time_grid(schedule_of(ScheduleKind::Linear), 200);
  auto x = ddim_sample(gaussian_eps(mu, sigma), torch::randn({20000, d}), grid).x;
  EXPECT_LT((x.mean(0) - mu).abs().max().item<float>(), 0.05);
  EXPECT_LT(((x.std(0) / sigma) - 1).abs().max().item<float>(), 0.05);
}

TEST_F(Ddim, GaussianRoundTripErrorShrinksWithSteps) {
  const int64_t d = 16;
  auto mu = torch::linspace(-0.5, 0.5, d), sigma = torch::linspace(0.5, 1.5, d);
  auto eps = gaussian_eps(mu, sigma);
  auto schedule = schedule_of(ScheduleKind::ContinuousCosine);
  auto x0 = mu + sigma * torch::randn({500, d});
  std::vector<double> errors;
  for (int64_t steps : {5, 20, 80, 320}) {
    auto grid = make_time_grid(schedule, steps);
    auto seed = ddim_invert(eps, x0, grid).x;
    auto back = ddim_sample(eps, seed, grid).x;
    errors.push_back((back - x0).square().mean().item<double>());
  }
  for (size_t i = 1; i < errors.size(); ++i) EXPECT_LT(errors[i], 0.6 * errors[i - 1]) << i;
  EXPECT_LT(errors.back(), 1e-3);
}

TEST_F(Ddim, OnePointDataIsReconstructedExactly) {
  auto point = torch::randn({1, 1, 8, 8});
  auto eps = one_point_eps(point);
  auto grid = make_time_grid(schedule_of(ScheduleKind::ContinuousCosine), 10);
  // Any seed generates the point ...
  auto x = ddim_sample(eps, torch::randn({5, 1, 8, 8}), grid).x;
  EXPECT_LT((x - point).abs().max().item<float>(), 1e-4);
  // ... and its inversion regenerates it, by plain and fixed-point inversion alike.
  for (auto method : {InversionMethod::DDIM, InversionMethod::FixedPoint}) {
    InvertOptions o;
    o.method = method;
    auto seed = ddim_invert(eps, point, grid, o).x;
    EXPECT_LT((ddim_sample(eps, seed, grid).x - point).abs().max().item<float>(), 1e-4);
  }
  // Stochastic DDIM also ends on the point.
  auto gen = make_generator(3);
  SampleOptions o;
  o.eta = 1.0;
  o.generator = &gen;
  EXPECT_LT((ddim_sample(eps, torch::randn({3, 1, 8, 8}), grid, o).x - point).abs().max().item<float>(),
            1e-4);
}

TEST_F(Ddim, StepFunctionIsItsOwnInverseWithTheSameEps) {
  auto x = torch::randn({4, 3});
  auto e = torch::randn({4, 3});
  Rates a{0.8, 0.6}, b{0.3, std::sqrt(1 - 0.09)};
  EXPECT_TRUE(torch::allclose(ddim_step(ddim_step(x, e, a, b), e, b, a), x, 1e-5, 1e-6));
}

TEST_F(Ddim, TrajectoryHasEveryGridState) {
  auto eps = one_point_eps(torch::zeros({1, 2}));
  auto grid = make_time_grid(schedule_of(ScheduleKind::ContinuousCosine), 6);
  SampleOptions o;
  o.keep_trajectory = true;
  auto seed = torch::randn({1, 2});
  auto r = ddim_sample(eps, seed, grid, o);
  ASSERT_EQ(r.trajectory.size(), 7u);
  EXPECT_TRUE(torch::equal(r.trajectory.front(), seed));
  EXPECT_TRUE(torch::equal(r.trajectory.back(), r.x));
}

// A tiny U-Net trained for a few seconds on 8x8 images, shared by the tests below.
class TrainedDdim : public SeededTest {
 protected:
  static void SetUpTestSuite() {
    torch::manual_seed(0);
    Dataset data;
    data.spec = "tiny";
    auto x = torch::zeros({64, 1, 8, 8}, torch::kUInt8);
    for (int64_t i = 0; i < 64; ++i) {
      const int64_t r = i % 4, c = (i / 4) % 4;
      x[i][0].narrow(0, r, 4).narrow(1, c, 4).fill_(100 + 2 * i);
    }
    data.storage = x;
    images_ = new torch::Tensor(data.all());
    UNetOptions u;
    u.widths = {16, 32};
    u.block_depth = 1;
    u.embedding_dims = 16;
    u.image_size = 8;
    DenoiserTrainOptions t;
    t.batch = 32;
    t.preview_samples = 0;
    t.lr = 3e-3;
    // Trained once for all test processes of this binary (ctest runs each test in its own).
    const auto dir = shared_dir("trained-ddim", [&](const std::string& dir) {
      DenoiserTrainer trainer(u.to_json(), ScheduleOptions{}, data, nullptr, t, torch::kCPU);
      for (int64_t s = 0; s < 400; ++s) trainer.step(s);
      save_checkpoint(dir + "/model.pt", trainer.checkpoint(400));
    });
    denoiser_ = new Denoiser(load_denoiser(dir + "/model.pt"));
  }
  static void TearDownTestSuite() {
    delete denoiser_;
    delete images_;
  }
  static Denoiser* denoiser_;
  static torch::Tensor* images_;
};
Denoiser* TrainedDdim::denoiser_ = nullptr;
torch::Tensor* TrainedDdim::images_ = nullptr;

TEST_F(TrainedDdim, FixedPointInversionBeatsPlainInversion) {
  const auto& d = *denoiser_;
  auto grid = make_time_grid(d.schedule(), 10);
  auto x = images_->slice(0, 0, 16);
  auto round_trip = [&](const InvertOptions& o) {
    auto seeds = invert(d, x, grid, o, 64);
    return (generate(d, seeds, grid, {}, 64) - x).square().mean().item<double>();
  };
  InvertOptions plain;
  InvertOptions fixed;
  fixed.method = InversionMethod::FixedPoint;
  fixed.iterations = 5;
  const double e_plain = round_trip(plain), e_fixed = round_trip(fixed);
  EXPECT_LT(e_fixed, e_plain) << "plain " << e_plain << ", fixed point " << e_fixed;
}

TEST_F(TrainedDdim, SamplingIsBatchInvariantAndReproducible) {
  const auto& d = *denoiser_;
  auto grid = make_time_grid(d.schedule(), 10);
  auto seeds = torch::randn({6, 1, 8, 8});
  torch::NoGradGuard ng;
  auto batch = ddim_sample(d.eps_fn(), seeds, grid).x;
  for (int64_t i = 0; i < 6; ++i) {
    auto single = ddim_sample(d.eps_fn(), seeds.slice(0, i, i + 1), grid).x;
    EXPECT_LT((single - batch.slice(0, i, i + 1)).abs().max().item<float>(), 1e-5) << i;
  }
  EXPECT_TRUE(torch::equal(ddim_sample(d.eps_fn(), seeds, grid).x, batch));
  // Streaming in batches of 4 gives the same images as one batch.
  auto streamed = generate(d, seeds, grid, {}, 4);
  EXPECT_LT((streamed - generate(d, seeds, grid, {}, 6)).abs().max().item<float>(), 1e-5);
}

// bf16 autocast (ddim/core/autocast.h) runs the network's convolutions in bf16 and nothing else:
// the samples and inverted seeds of the trained model move by about bf16's precision, the
// DDIM arithmetic stays fp32, and the same input gives the same bits twice.
TEST_F(TrainedDdim, Bf16SamplingAndInversionStayCloseToFp32) {
  Denoiser d = *denoiser_;  // shares the network; only the precision flag differs
  auto grid = make_time_grid(d.schedule(), 10);
  auto seeds = torch::randn({8, 1, 8, 8});
  torch::NoGradGuard ng;
  const auto fp32 = ddim_sample(d.eps_fn(), seeds, grid).x;
  d.set_mixed_precision(true);
  const auto bf16 = ddim_sample(d.eps_fn(), seeds, grid).x;
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);
  EXPECT_FALSE(autocast_enabled(torch::kCPU)) << "autocast leaked out of eps_fn";
  const double rel = ((bf16 - fp32).norm() / fp32.norm()).item<double>();
  EXPECT_GT(rel, 0.0) << "bf16 changed nothing: autocast did not run";
  EXPECT_LT(rel, 0.06);  // 8x8 toy model; Fashion-MNIST samples move by 0.0025 per pixel
  EXPECT_TRUE(torch::equal(ddim_sample(d.eps_fn(), seeds, grid).x, bf16));

  auto x = images_->slice(0, 0, 8);
  const auto z16 = ddim_invert(d.eps_fn(), x, grid).x;
  d.set_mixed_precision(false);
  const auto z32 = ddim_invert(d.eps_fn(), x, grid).x;
  EXPECT_LT(((z16 - z32).norm() / z32.norm()).item<double>(), 0.06);
}

TEST(Autocast, GuardSwitchesConvolutionsToBf16AndRestoresTheState) {
  auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3));
  auto x = torch::randn({1, 2, 5, 5});
  ASSERT_FALSE(autocast_enabled(torch::kCPU));
  {
    AutocastGuard outer(torch::kCPU, true);
    EXPECT_TRUE(outer.active());
    EXPECT_EQ(conv->forward(x).scalar_type(), torch::kBFloat16);
    {
      AutocastGuard off(torch::kCPU, false);  // disabled: leaves the scope as it is
      EXPECT_FALSE(off.active());
      EXPECT_TRUE(autocast_enabled(torch::kCPU));
    }
    {
      AutocastGuard inner(torch::kCPU, true);
      EXPECT_EQ(conv->forward(x).scalar_type(), torch::kBFloat16);
    }
    EXPECT_TRUE(autocast_enabled(torch::kCPU)) << "the inner guard switched the outer scope off";
  }
  EXPECT_FALSE(autocast_enabled(torch::kCPU));
  EXPECT_EQ(conv->forward(x).scalar_type(), torch::kFloat);
}
