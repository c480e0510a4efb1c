#include <cmath>

#include "ddim/analysis/cloud.h"
#include "ddim/analysis/evaluation.h"
#include "ddim/analysis/gravity.h"
#include "ddim/analysis/independence.h"
#include "ddim/analysis/inversion_stats.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/data/toy.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/methods/manipulation.h"
#include "ddim/metrics/frechet.h"
#include "ddim/nn/classifier.h"
#include "ddim/nn/mlp.h"
#include "ddim/training/denoiser_trainer.h"
#include "oracles.h"
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

TEST_F(Analysis, ALinearProbeReadsSeparableClassesAndNotNoise) {
  // Class k sits at 3 e_k in 6 dimensions, plus unit noise: linearly separable.
  const int64_t n = 600, classes = 3;
  auto labels = torch::arange(n).remainder(classes);
  auto x = torch::randn({n, 6}) + 3 * torch::one_hot(labels, 6).to(torch::kFloat32);
  auto probe = fit_linear_probe(x, labels, classes);
  EXPECT_GT(probe.accuracy(x, labels), 0.95);
  EXPECT_LT(probe.perplexity(x, labels), 1.3);
  // Labels independent of the features: chance, perplexity near the class count.
  auto noise_labels = torch::randint(0, classes, {n}, torch::kInt64);
  auto test = torch::randn({n, 6});
  auto chance = fit_linear_probe(torch::randn({n, 6}), noise_labels, classes);
  EXPECT_LT(chance.accuracy(test, torch::randint(0, classes, {n}, torch::kInt64)), 0.45);
  EXPECT_GT(chance.perplexity(test, torch::randint(0, classes, {n}, torch::kInt64)), 2.5);
  EXPECT_THROW(fit_linear_probe(x, labels + 5, classes), InvalidArgument);
}

TEST_F(Analysis, AurocByTheRankStatistic) {
  auto positive = torch::tensor({0, 0, 1, 1}).to(torch::kBool);
  EXPECT_DOUBLE_EQ(auroc(torch::tensor({0.1, 0.2, 0.8, 0.9}), positive), 1.0);
  EXPECT_DOUBLE_EQ(auroc(torch::tensor({0.9, 0.8, 0.2, 0.1}), positive), 0.0);
  EXPECT_DOUBLE_EQ(auroc(torch::tensor({0.1, 0.8, 0.2, 0.9}), positive), 0.75);  // 3 of 4 pairs ordered
  EXPECT_TRUE(std::isnan(auroc(torch::tensor({0.1, 0.2}), torch::tensor({1, 1}).to(torch::kBool))));
}

TEST_F(Analysis, AnAttributeDirectionIsTheShiftBetweenTheClasses) {
  const int64_t n = 800;
  auto positive = torch::rand({n}) < 0.5;
  auto direction = torch::zeros({8});
  direction[2] = 1;
  auto codes = torch::randn({n, 8}) + 4 * positive.to(torch::kFloat32).unsqueeze(1) * direction;
  auto test_positive = torch::rand({n}) < 0.5;
  auto test = torch::randn({n, 8}) + 4 * test_positive.to(torch::kFloat32).unsqueeze(1) * direction;
  const auto a = fit_attribute_direction(codes, positive, test, test_positive);
  EXPECT_GT(a.direction[2].item<double>(), 0.9);  // unit, along the shift
  EXPECT_NEAR(a.direction.norm().item<double>(), 1.0, 1e-5);
  EXPECT_GT(a.auroc, 0.97);
  EXPECT_GT(a.probability(test.slice(0, 0, 1) + 10 * direction).item<double>(), 0.99);
  EXPECT_THROW(fit_attribute_direction(codes, torch::zeros({n}, torch::kBool), test, test_positive),
               InvalidArgument);
}

TEST_F(Analysis, ModelIndependenceOfAModelWithItselfAndWithAnother) {
  auto mu = torch::full({2}, 0.5), sigma = torch::full({2}, 0.8);
  const auto a = oracle_denoiser(std::make_shared<GaussianOracle>(mu, sigma), {2});
  const auto b = oracle_denoiser(std::make_shared<GaussianOracle>(mu + 0.05, sigma), {2});
  const auto seeds = torch::randn({64, 2});
  const auto same = model_independence(a, a, seeds, 10);
  EXPECT_EQ(same.same_seed_mse.max().item<double>(), 0.0);
  EXPECT_GT(same.random_pairs_mse.mean().item<double>(), 0.1);
  const auto other = model_independence(a, b, seeds, 10);
  // Close models map a seed to close points: far closer than two seeds' samples are.
  EXPECT_GT(other.same_seed_mse.mean().item<double>(), 0.0);
  EXPECT_GT(other.ratio(), 50.0);
  EXPECT_NEAR(other.to_json()["orders_of_magnitude"].get<double>(), std::log10(other.ratio()), 1e-12);
  const auto images = oracle_denoiser(
      std::make_shared<GaussianOracle>(torch::zeros({1, 8, 8}), torch::ones({1, 8, 8})), {1, 8, 8});
  EXPECT_THROW(model_independence(a, images, seeds, 10), InvalidArgument);
}

TEST_F(Analysis, TheGravityMapOfOnePointDrawsEverySeedToIt) {
  const auto point = torch::tensor({0.3f, -0.7f});
  const auto d = oracle_denoiser(std::make_shared<OnePointOracle>(point), {2});
  const auto map = gravity_map(d, 9, 2.0, make_time_grid(d.schedule(), 5));
  EXPECT_EQ(map.seeds.sizes(), (std::vector<int64_t>{81, 2}));
  EXPECT_LT((map.ends - point).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(embedding_region(map, point, 0.01).size(0), 81);
  EXPECT_EQ(embedding_region(map, torch::tensor({2.0f, 2.0f}), 0.5).size(0), 0);
  const auto images = oracle_denoiser(std::make_shared<OnePointOracle>(torch::zeros({1, 8, 8})), {1, 8, 8});
  EXPECT_THROW(gravity_map(images, 9, 2.0, make_time_grid(d.schedule(), 5)), InvalidArgument);
}

TEST_F(Analysis, InversionStatisticsOfTheGaussianDenoiser) {
  auto mu = torch::zeros({16}), sigma = torch::linspace(0.2, 1.0, 16);
  const auto d = oracle_denoiser(std::make_shared<GaussianOracle>(mu, sigma), {16});
  const auto noise = torch::randn({300, 16});
  const auto s = inversion_statistics(d, noise, 10, 64, 5);
  EXPECT_NEAR(s.angles[0] + s.angles[1] + s.angles[2], 180.0, 1e-6);
  EXPECT_EQ(s.distance_map.sizes(), (std::vector<int64_t>{11, 5}));
  // The first trajectory state is x_T itself: distance 0 at lambda = 0.
  EXPECT_LT(s.distance_map[0][0].item<double>(), 1e-9);
  // Independent coordinates: the noise's pixels are (nearly) uncorrelated, and so are the samples'.
  EXPECT_LT(s.correlation_noise, 0.25);
  // Each sample is its noise shrunk per coordinate (mu = 0): assignment far above chance (1/300).
  EXPECT_GT(s.sample_to_noise, 0.3);
  EXPECT_GT(s.noise_to_sample, 0.3);
  const auto j = s.to_json();
  EXPECT_EQ(j["distance_map"]["values"].size(), 11u);
  EXPECT_FALSE(inversion_statistics(d, noise, 10, 64).distance_map.defined());
}

TEST_F(Analysis, ACloudOfSeedsOfOnePointIsAllOneImage) {
  const auto point = 0.1 + 0.8 * torch::rand({1, 8, 8});
  const auto d = oracle_denoiser(std::make_shared<OnePointOracle>(point), {1, 8, 8});
  const auto cloud = torch::randn({6, 1, 8, 8});
  CloudAnalysisOptions o;
  o.combinations = 7;
  o.components = 2;
  o.factors = {-3, 0, 3};
  o.steps = 4;
  auto gen = make_generator(3);
  const auto c = analyze_cloud(d, cloud, point.unsqueeze(0), o, gen);
  EXPECT_LT(c.seed_mse.max().item<double>(), 1e-10);
  EXPECT_LT(c.progressive_mse.max().item<double>(), 1e-10);
  EXPECT_LT(c.convex_mse.max().item<double>(), 1e-10);
  EXPECT_EQ(c.internal_images.size(0), 7);
  EXPECT_EQ(c.pca.eigenvalues.size(0), 5);  // K - 1
  EXPECT_EQ(c.moved_components, (std::vector<int64_t>{0, 1, 3, 4}));
  ASSERT_EQ(c.moved_change.size(), 4u);
  EXPECT_LT(c.moved_change[0].max().item<double>(), 1e-10);
  EXPECT_NEAR(c.pairwise_distance, mean_pairwise_distance(cloud), 1e-12);
  EXPECT_TRUE(torch::allclose(c.progressive_means[5], cloud.mean(0), 1e-5, 1e-6));
  EXPECT_EQ(c.to_json()["progressive_mse"].size(), 6u);
  EXPECT_THROW(analyze_cloud(d, cloud.slice(0, 0, 1), point.unsqueeze(0), o, gen), InvalidArgument);
}

TEST_F(Analysis, TheClassifierJudgesSamplesAndReconstructions) {
  ClassifierOptions co;
  co.image_size = 8;
  co.classes = 3;
  Classifier c(co);
  c.eval();
  const auto images = torch::rand({40, 1, 8, 8});
  const auto q = sample_quality(c, images, images, torch::zeros({40}, torch::kInt64));
  EXPECT_NEAR(q.frechet_distance, 0.0, 1e-6);
  EXPECT_NEAR(q.class_fractions.sum().item<double>(), 1.0, 1e-12);
  ASSERT_TRUE(q.reference_accuracy.has_value());
  const auto shifted = sample_quality(c, (images + 0.5).clamp(0, 1), images);
  EXPECT_GT(shifted.frechet_distance, q.frechet_distance + 1e-3);
  EXPECT_FALSE(shifted.reference_accuracy.has_value());
  const auto f = reconstruction_faithfulness(c, images, images, torch::zeros({40}, torch::kInt64));
  EXPECT_EQ(f.class_kept, 1.0);
  EXPECT_EQ(*f.accuracy_on_originals, *f.accuracy_on_reconstructions);
  EXPECT_THROW(reconstruction_faithfulness(c, images, images.slice(0, 0, 3)), InvalidArgument);
  // The feature distance (DiffuseGAE Table 2's perceptual column): zero for identical images,
  // symmetric, in [0, 4] (unit features), and the faithfulness report holds its mean.
  EXPECT_NEAR(f.feature_distance, 0.0, 1e-12);
  const auto moved = (images + 0.5).clamp(0, 1);
  const auto d = feature_distance(c, images, moved);
  ASSERT_EQ(d.sizes(), (std::vector<int64_t>{40}));
  EXPECT_GT(d.min().item<double>(), 0.0);
  EXPECT_LE(d.max().item<double>(), 4.0);
  EXPECT_TRUE(torch::allclose(d, feature_distance(c, moved, images)));
  EXPECT_NEAR(reconstruction_faithfulness(c, images, moved).feature_distance, d.mean().item<double>(), 1e-9);
  EXPECT_THROW(feature_distance(c, images, images.slice(0, 0, 3)), InvalidArgument);
}
