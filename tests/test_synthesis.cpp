#include <cmath>

#include "ddim/analysis/cloud.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/synthesis.h"
#include "ddim/diffusion/unrolled.h"
#include "ddim/nn/unet.h"
#include "oracles.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

Denoiser gaussian_denoiser(const torch::Tensor& mu, const torch::Tensor& sigma) {
  DataInfo info;
  info.shape = {mu.size(0)};
  return Denoiser(std::make_shared<GaussianOracle>(mu, sigma), ScheduleOptions{},
                  Standardizer::identity(mu.size(0)), info);
}

}  // namespace

class Synthesis : public SeededTest {};

TEST_F(Synthesis, GradientDescentReachesTargetsOfTheGaussianDenoiser) {
  const int64_t d = 8;
  auto mu = torch::full({d}, 0.5), sigma = torch::full({d}, 0.3);
  auto denoiser = gaussian_denoiser(mu, sigma);
  auto targets = torch::rand({3, d});  // any point is reachable: the DDIM map is affine and onto
  SynthesisOptions o;
  o.iterations = 400;
  o.lr = 0.05;
  o.loss = Loss::MSE;
  o.seed_penalty = 0;
  auto gen = make_generator(1);
  auto r = synthesize_seeds(denoiser, targets, 4, {}, o, gen);
  EXPECT_EQ(r.seeds.sizes(), (std::vector<int64_t>{3, 4, d}));
  // Start: random seeds generate samples of the data distribution, far from the targets.
  auto start = ddim_sample(denoiser.eps_fn(), randn({12, d}, gen), make_time_grid(denoiser.schedule(), 10)).x;
  const double initial = (start - targets.repeat_interleave(4, 0)).square().mean().item<double>();
  EXPECT_LT(r.distance.max().item<double>(), 1e-3 * initial) << "initial " << initial;
}

TEST_F(Synthesis, ToleranceStopsEarly) {
  auto mu = torch::full({4}, 0.5), sigma = torch::full({4}, 0.3);
  auto denoiser = gaussian_denoiser(mu, sigma);
  SynthesisOptions o;
  o.iterations = 1000;
  o.lr = 0.05;
  o.tolerance = 0.05;
  o.seed_penalty = 0;
  auto gen = make_generator(2);
  auto r = synthesize_seeds(denoiser, torch::rand({2, 4}), 2, {}, o, gen);
  EXPECT_LT(r.iterations, 1000);
  EXPECT_LT(r.distance.max().item<double>(), 0.05);
}

TEST_F(Synthesis, CheckpointedAndPlainBackwardGiveTheSameGradients) {
  UNetOptions u;
  u.widths = {8, 16};
  u.block_depth = 1;
  u.embedding_dims = 8;
  u.image_size = 8;
  auto net = std::make_shared<UNet>(u);
  for (auto& p : net->parameters()) p.data().normal_(0, 0.1);
  net->eval();
  for (auto& p : net->parameters()) p.set_requires_grad(false);
  DataInfo info;
  info.shape = {1, 8, 8};
  Denoiser d(net, ScheduleOptions{}, Standardizer::identity(1), info);
  auto grid = make_time_grid(d.schedule(), 6);
  auto target = torch::randn({3, 1, 8, 8});
  auto gradient = [&](bool checkpointing) {
    auto z = torch::randn({3, 1, 8, 8}, at::detail::createCPUGenerator(9)).requires_grad_(true);
    auto out = differentiable_sample(d.eps_fn(), z, grid, checkpointing);
    (out - target).abs().mean().backward();
    return std::make_pair(out.detach(), z.grad().clone());
  };
  auto [out_plain, g_plain] = gradient(false);
  auto [out_ckpt, g_ckpt] = gradient(true);
  // The checkpointed forward pass runs without gradients, so it takes the U-Net's prepared form
  // (nn/prepared_unet.h): the same function to float rounding, not the same bits.
  EXPECT_TRUE(torch::allclose(out_plain, out_ckpt, 1e-5, 1e-6));
  EXPECT_GT(g_plain.abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(g_plain, g_ckpt, 1e-5, 1e-7));
  // Gradients also flow through the seeds into whatever produced them.
  auto w = torch::ones({1}, torch::requires_grad());
  auto z = torch::randn({2, 1, 8, 8}) * w;
  differentiable_sample(d.eps_fn(), z, grid, true).sum().backward();
  EXPECT_TRUE(w.grad().defined());
}

TEST_F(Synthesis, PcaRecoversAKnownCovariance) {
  auto lambda = torch::tensor({9.0, 4.0, 1.0, 0.25}, torch::kFloat64);
  // A rotation mixes the axes, so the components are not the coordinate axes.
  auto q = std::get<0>(torch::linalg_qr(torch::randn({4, 4}, torch::kFloat64)));
  auto cloud = (torch::randn({40000, 4}, torch::kFloat64) * lambda.sqrt()).matmul(q.t()) + 3.0;
  auto pc = principal_components(cloud);
  ASSERT_EQ(pc.eigenvalues.size(0), 4);
  EXPECT_TRUE(torch::allclose(pc.eigenvalues, lambda, 0.03, 0.0)) << pc.eigenvalues;
  EXPECT_TRUE(torch::allclose(pc.mean, torch::full({4}, 3.0, torch::kFloat64), 0, 0.05));
  for (int64_t c = 0; c < 4; ++c)  // each component is +- the rotated axis
    EXPECT_NEAR(std::abs(pc.components[c].dot(q.select(1, c)).item<double>()), 1.0, 0.01) << c;
  // Fewer seeds than dimensions: K - 1 components.
  EXPECT_EQ(principal_components(torch::randn({5, 3, 4, 4})).eigenvalues.size(0), 4);
}

TEST_F(Synthesis, DistancesAveragesAndConvexCombinations) {
  auto cloud = torch::zeros({3, 4});
  cloud[1][0] = 3.0;  // distances 3, 4, 5
  cloud[2][1] = 4.0;
  EXPECT_NEAR(mean_pairwise_distance(cloud), 4.0, 1e-9);
  EXPECT_NEAR(mean_pairwise_distance_per_pixel(cloud), 2.0, 1e-9);
  auto means = progressive_means(cloud);
  EXPECT_TRUE(torch::allclose(means[2], cloud.mean(0)));
  EXPECT_TRUE(torch::allclose(means[1], (cloud[0] + cloud[1]) / 2));
  auto gen = make_generator(4);
  torch::Tensor w;
  auto internal = random_convex_combinations(cloud, 50, gen, &w);
  EXPECT_TRUE(torch::allclose(w.sum(1), torch::ones({50}, torch::kFloat64)));
  EXPECT_GE(w.min().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(internal, w.to(torch::kFloat32).matmul(cloud), 1e-5, 1e-5));
}
