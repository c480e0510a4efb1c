#include "ddim/core/error.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/nn/diffae.h"
#include "ddim/nn/mlp.h"
#include "ddim/nn/network.h"
#include "ddim/nn/unet.h"
#include "ddim/training/denoiser_trainer.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {
// 8x8 images: a bright square at one of 16 places, of one of 4 brightnesses.
Dataset squares(int64_t n) {
  Dataset d;
  d.spec = "squares";
  auto x = torch::zeros({n, 1, 8, 8}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i)
    x[i][0].narrow(0, i % 4, 4).narrow(1, (i / 4) % 4, 4).fill_(100 + 40 * ((i / 16) % 4));
  d.storage = x;
  return d;
}

UNetOptions tiny_unet() {
  UNetOptions u;
  u.widths = {16, 32};
  u.block_depth = 1;
  u.embedding_dims = 16;
  u.image_size = 8;
  u.groups = 4;
  return u;
}

Denoiser train(const nlohmann::json& arch, const Dataset& data, int64_t steps) {
  DenoiserTrainOptions t;
  t.batch = 32;
  t.lr = 3e-3;
  t.preview_samples = 0;
  DenoiserTrainer trainer(arch, ScheduleOptions{}, data, nullptr, t, torch::kCPU);
  for (int64_t s = 0; s < steps; ++s) trainer.step(s);
  auto d = trainer.ema_denoiser();
  d.network().eval();
  return d;
}
}  // namespace

class DiffAETest : public SeededTest {};

TEST_F(DiffAETest, EncoderShapesAndConditioning) {
  DiffAEOptions o;
  o.unet = tiny_unet();
  o.z_dim = 12;
  DiffAE net(o);
  auto x = torch::randn({3, 1, 8, 8});
  auto z = net.condition(x);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{3, 12}));
  EXPECT_EQ(net.cond_dim(), 12);
  EXPECT_EQ(net.forward(x, torch::rand({3}), z).sizes(), x.sizes());
  EXPECT_THROW(net.forward(x, torch::rand({3})), InvalidArgument);  // the decoder needs z_sem
  EXPECT_EQ(make_network(net.describe())->cond_dim(), 12);
}

TEST_F(DiffAETest, TheFlattenHeadReadsTheWholeFeatureMap) {
  DiffAEOptions o;
  o.unet = tiny_unet();  // one level down: an 8x8 image leaves a 4x4 map of 32 channels
  o.z_dim = 12;
  o.head = EncoderHead::Flatten;
  DiffAE net(o);
  const auto head = net.named_parameters().find("encoder.head.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->sizes(), (std::vector<int64_t>{12, 32 * 4 * 4}));
  EXPECT_EQ(net.condition(torch::randn({3, 1, 8, 8})).sizes(), (std::vector<int64_t>{3, 12}));
  EXPECT_THROW(net.condition(torch::randn({1, 1, 16, 16})), InvalidArgument);  // built for 8x8
  // The description keeps the head; one without it (models from before the option) pools.
  const auto j = net.describe();
  EXPECT_EQ(j.at("encoder_head"), "flatten");
  EXPECT_EQ(DiffAEOptions::from_json(j).head, EncoderHead::Flatten);
  auto old = j;
  old.erase("encoder_head");
  EXPECT_EQ(DiffAEOptions::from_json(old).head, EncoderHead::Pool);
  EXPECT_FALSE(DiffAE(DiffAEOptions::from_json(old)).describe().contains("encoder_head"));
  EXPECT_EQ(make_network(j)->describe(), j);
}

TEST_F(DiffAETest, EncodeDecodeBeatsPlainDdimAtEqualSteps) {
  auto data = squares(64);
  DiffAEOptions o;
  o.unet = tiny_unet();
  o.z_dim = 16;
  auto ae = train(o.to_json(), data, 300);
  auto u = tiny_unet();
  auto plain = train(u.to_json(), data, 300);
  const auto x = data.slice(0, 32);
  const auto grid = make_time_grid(plain.schedule(), 5);
  auto round_trip = [&](const Denoiser& d, const torch::Tensor& codes) {
    auto seeds = invert(d, x, grid, {}, 64, {}, codes);
    return (generate(d, seeds, grid, {}, 64, {}, codes) - x).square().mean().item<double>();
  };
  torch::Tensor codes;
  {
    torch::NoGradGuard ng;
    codes = ae.network().condition(ae.standardize(x));
  }
  const double e_ae = round_trip(ae, codes), e_plain = round_trip(plain, {});
  EXPECT_LT(e_ae, e_plain) << "Diff-AE " << e_ae << ", plain DDIM " << e_plain;
}

TEST_F(DiffAETest, ALatentDdimTrainedBrieflyMovesSamplesTowardsTheCodes) {
  // Codes with a known distribution: correlated Gaussian vectors standing in for z_sem.
  const int64_t d = 8;
  auto mixing = torch::randn({d, d}) * 0.5 + torch::eye(d);
  Dataset z;
  z.spec = "codes";
  z.storage = torch::randn({4096, d}).matmul(mixing) + torch::linspace(-1, 1, d);
  MLPOptions m;
  m.dim = d;
  m.width = 64;
  m.layers = 4;
  DenoiserTrainOptions t;
  t.batch = 256;
  t.lr = 2e-3;
  t.preview_samples = 0;
  DenoiserTrainer trainer(m.to_json(), ScheduleOptions{}, z, nullptr, t, torch::kCPU);
  const auto target_mean = z.storage.mean(0);
  const auto c = z.storage - target_mean;
  const auto target_cov = c.t().matmul(c) / z.size();
  auto error = [&] {
    auto den = trainer.ema_denoiser();
    auto x = generate(den, torch::randn({4000, d}), make_time_grid(den.schedule(), 20), {}, 4000);
    auto xc = x - x.mean(0);
    return ((x.mean(0) - target_mean).square().sum() +
            (xc.t().matmul(xc) / x.size(0) - target_cov).square().sum())
        .item<double>();
  };
  const double before = error();
  for (int64_t s = 0; s < 500; ++s) trainer.step(s);
  const double after = error();
  EXPECT_LT(after, 0.2 * before) << "before " << before << ", after " << after;
}
