// The embedding entry point (embedding.h) against closed forms and against the lower-level
// calls it stands for.
#include "ddim/core/error.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/methods/embedding.h"
#include "ddim/methods/interpolation.h"
#include "ddim/nn/diffae.h"
#include "ddim/nn/unet.h"
#include "oracles.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

// Images [C, H, W] = [1, 8, 8] of a Gaussian data set inside [0, 1], and the exact denoiser.
struct GaussianImages {
  torch::Tensor mu = 0.5 + 0.2 * torch::linspace(-1, 1, 64).view({1, 8, 8});
  torch::Tensor sigma = torch::full({1, 8, 8}, 0.12);
  Denoiser denoiser = oracle_denoiser(std::make_shared<GaussianOracle>(mu, sigma), {1, 8, 8});
  torch::Tensor sample(int64_t n) const { return (mu + sigma * torch::randn({n, 1, 8, 8})).clamp(0, 1); }
};

// Vectors of a Gaussian data set of unit-order spread, where fixed-point inversion converges and
// the S-step DDIM map is affine and onto.
struct GaussianVectors {
  torch::Tensor mu = torch::linspace(-0.5, 0.5, 16), sigma = torch::linspace(0.5, 1.5, 16);
  Denoiser denoiser = oracle_denoiser(std::make_shared<GaussianOracle>(mu, sigma), {16});
  torch::Tensor sample(int64_t n) const { return mu + sigma * torch::randn({n, 16}); }
};

}  // namespace

class Embedding_ : public SeededTest {};

TEST_F(Embedding_, OnePointDataIsReconstructedExactlyByEveryMethod) {
  const auto point = 0.1 + 0.8 * torch::rand({1, 8, 8});
  const auto d = oracle_denoiser(std::make_shared<OnePointOracle>(point), {1, 8, 8});
  const auto images = point.unsqueeze(0).repeat({3, 1, 1, 1});
  for (auto method : {EmbedMethod::DDIMInversion, EmbedMethod::FixedPoint, EmbedMethod::GradientDescent}) {
    EmbedOptions o;
    o.method = method;
    o.steps = 5;
    o.descent_iterations = 3;
    const auto r = reconstruct_images(d, images, o);
    EXPECT_LT(r.report.mse.max().item<double>(), 1e-10) << to_string(method);
    EXPECT_EQ(r.outputs.sizes(), images.sizes());
    EXPECT_EQ(r.embedding.seconds.size(0), 3);
  }
}

TEST_F(Embedding_, InversionEqualsThePipelineCallItStandsFor) {
  GaussianImages g;
  const auto images = g.sample(5);
  EmbedOptions o;
  o.method = EmbedMethod::FixedPoint;
  o.steps = 6;
  o.iterations = 2;
  o.batch = 2;  // three batches
  const auto e = embed_images(g.denoiser, images, o);
  const auto direct =
      invert(g.denoiser, images, make_time_grid(g.denoiser.schedule(), 6), o.invert_options(), 2);
  EXPECT_TRUE(torch::equal(e.seeds, direct));
  EXPECT_FALSE(e.codes.defined());
  EXPECT_FALSE(e.unrefined.defined());
  // Every image got its batch's share of the time, and the shares add up to the whole.
  EXPECT_TRUE((e.seconds > 0).all().item<bool>());
  EXPECT_NEAR(e.seconds.sum().item<double>(), e.embed_seconds, 0.05 * e.embed_seconds + 1e-3);
}

TEST_F(Embedding_, FixedPointAndGradientDescentBeatPlainInversion) {
  GaussianVectors g;
  const auto images = g.sample(8);
  auto mse = [&](EmbedMethod m) {
    EmbedOptions o;
    o.method = m;
    o.steps = 5;
    o.iterations = 6;
    o.descent_iterations = 300;
    o.lr = 0.05;
    o.loss = Loss::MSE;
    o.seed_penalty = 0;
    return reconstruct_images(g.denoiser, images, o).report.mean_mse();
  };
  const double plain = mse(EmbedMethod::DDIMInversion), fixed = mse(EmbedMethod::FixedPoint),
               descent = mse(EmbedMethod::GradientDescent);
  EXPECT_LT(fixed, 0.1 * plain) << plain;
  EXPECT_LT(descent, 0.1 * plain) << plain;
}

TEST_F(Embedding_, RefinementLowersTheErrorOfTheMethodsSeeds) {
  GaussianVectors g;
  const auto images = g.sample(4);
  EmbedOptions o;
  o.steps = 4;
  o.refine = 200;
  o.lr = 0.05;
  o.loss = Loss::MSE;
  o.seed_penalty = 0;
  int64_t refine_reports = 0;
  const auto r = reconstruct_images(
      g.denoiser, images, o, nullptr, false,
      [&](const std::string& phase, int64_t, int64_t) { refine_reports += phase == "refine"; });
  ASSERT_TRUE(r.before_refinement.has_value());
  ASSERT_TRUE(r.embedding.unrefined.defined());
  EXPECT_LT(r.report.mean_mse(), 0.2 * r.before_refinement->mean_mse());
  EXPECT_EQ(refine_reports, 200);
  EXPECT_GT(r.embedding.refine_seconds, 0.0);
  // The method's own seeds are plain DDIM inversion's.
  EmbedOptions plain = o;
  plain.refine = 0;
  EXPECT_TRUE(torch::equal(r.embedding.unrefined, embed_images(g.denoiser, images, plain).seeds));
}

TEST_F(Embedding_, AnEmbedderMapsImagesThroughItsNetwork) {
  GaussianImages g;
  const auto images = g.sample(3);
  EmbedderOptions eo;
  eo.arch = EmbedderArch::Conv3x16;
  eo.image_size = 8;
  Embedder net(eo);
  EmbedOptions o;
  o.method = EmbedMethod::Embedder;
  const auto e = embed_images(g.denoiser, images, o, &net);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(e.seeds, net.forward(images), 1e-6, 1e-7));
  EXPECT_THROW(embed_images(g.denoiser, images, o), InvalidArgument);  // no network given
}

TEST_F(Embedding_, BadRequestsAreRefused) {
  GaussianImages g;
  EmbedOptions o;
  EXPECT_THROW(embed_images(g.denoiser, torch::rand({2, 3, 8, 8}), o), InvalidArgument);  // wrong shape
  EXPECT_THROW(embed_images(g.denoiser, torch::rand({0, 1, 8, 8}), o), InvalidArgument);  // nothing
  o.steps = 0;
  EXPECT_THROW(embed_images(g.denoiser, g.sample(1), o), InvalidArgument);
  EXPECT_THROW(reconstruct_images(g.denoiser, g.sample(1), EmbedOptions{}, nullptr, /*random_xt=*/true),
               InvalidArgument);  // random x_T is for autoencoders
}

TEST_F(Embedding_, AnAutoencoderEmbedsIntoCodesAndConditionedSeeds) {
  DiffAEOptions ao;
  ao.unet.widths = {8, 16};
  ao.unet.block_depth = 1;
  ao.unet.embedding_dims = 8;
  ao.unet.image_size = 8;
  ao.unet.groups = 4;
  ao.z_dim = 5;
  auto net = std::make_shared<DiffAE>(ao);
  net->eval();
  const auto d = oracle_denoiser(net, {1, 8, 8});
  const auto images = torch::rand({3, 1, 8, 8});
  EmbedOptions o;
  o.steps = 3;
  const auto e = embed_images(d, images, o);
  ASSERT_TRUE(e.codes.defined());
  EXPECT_EQ(e.codes.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_TRUE(torch::allclose(e.codes, semantic_codes(d, images, 2)));
  const auto conditioned = invert(d, images, o.grid(d.schedule()), o.invert_options(), 256, {}, e.codes);
  EXPECT_TRUE(torch::equal(e.seeds, conditioned));
  o.method = EmbedMethod::GradientDescent;
  EXPECT_THROW(embed_images(d, images, o), InvalidArgument);
  o.method = EmbedMethod::DDIMInversion;
  o.refine = 5;
  EXPECT_THROW(o.validate(d), InvalidArgument);
}

TEST_F(Embedding_, InterpolationEndsReconstructTheImages) {
  const auto point = 0.1 + 0.8 * torch::rand({1, 8, 8});
  const auto d = oracle_denoiser(std::make_shared<OnePointOracle>(point), {1, 8, 8});
  const auto ends = torch::stack({point, point});
  EmbedOptions o;
  o.steps = 4;
  const auto p = interpolate_images(d, ends, 5, Interpolation::Slerp, o);
  EXPECT_EQ(p.frames.sizes(), (std::vector<int64_t>{5, 1, 8, 8}));
  EXPECT_LT(p.ends.mse.max().item<double>(), 1e-10);
  EXPECT_LT(p.frame_to_frame_mse.max().item<double>(), 1e-10);  // every seed generates the point
  // The end frames are the images' reconstructions by the same method.
  GaussianImages g;
  const auto two = g.sample(2);
  const auto q = interpolate_images(g.denoiser, two, 7, Interpolation::Lerp, o);
  const auto r = reconstruct_images(g.denoiser, two, o);
  EXPECT_TRUE(torch::allclose(q.frames[0], r.outputs[0], 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(q.frames[6], r.outputs[1], 1e-5, 1e-6));
  EXPECT_NEAR(q.ends.mean_mse(), r.report.mean_mse(), 1e-9);
  EXPECT_TRUE(torch::allclose(q.blend[0], two[0]) && torch::allclose(q.blend[6], two[1]));
}
