#include <cmath>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/nn/blocks.h"
#include "ddim/nn/mlp.h"
#include "ddim/nn/unet.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

class Network : public SeededTest {};

TEST_F(Network, ReferenceParameterCountsOfThePaper) {
  UNetOptions o;
  o.channels = 3;
  o.widths = {32, 64, 96, 128};
  o.embedding_dims = 32;
  EXPECT_EQ(count_parameters(UNet(o)), 1950627);
  o.widths = {48, 96, 192, 384};
  o.embedding_dims = 64;
  o.image_size = 64;
  EXPECT_EQ(count_parameters(UNet(o)), 9605187);
}

TEST_F(Network, OutputShapeAndZeroInitialisedHead) {
  UNetOptions o;
  o.channels = 3;
  o.widths = {8, 16, 24};
  UNet net(o);
  auto x = torch::randn({5, 3, 32, 32});
  auto y = net.forward(x, torch::rand({5}));
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.abs().max().item<float>(), 0.0f);  // a fresh network predicts no noise
}

TEST_F(Network, SinusoidalEmbeddingMatchesHandComputation) {
  auto v = torch::tensor({0.25f});
  auto e = sinusoidal_embedding(v, 4, 1000.0);
  // Frequencies 1 and 1000 (log-spaced, both ends included).
  EXPECT_NEAR(e[0][0].item<float>(), std::sin(2 * M_PI * 1 * 0.25), 1e-5);
  EXPECT_NEAR(e[0][1].item<float>(), std::sin(2 * M_PI * 1000 * 0.25), 1e-3);
  EXPECT_NEAR(e[0][2].item<float>(), std::cos(2 * M_PI * 1 * 0.25), 1e-5);
  EXPECT_NEAR(e[0][3].item<float>(), std::cos(2 * M_PI * 1000 * 0.25), 1e-3);
}

TEST_F(Network, OptionsBeyondThePaperWork) {
  UNetOptions o;
  o.widths = {8, 16, 32};
  o.norm = NormKind::Group;
  o.groups = 4;
  o.dropout = 0.1;
  o.attention_resolutions = {16, 8};
  o.attention_heads = 2;
  UNet net(o);
  auto x = torch::randn({2, 1, 32, 32});
  EXPECT_EQ(net.forward(x, torch::rand({2})).sizes(), x.sizes());
  EXPECT_EQ(UNetOptions::from_json(o.to_json()).to_json(), o.to_json());
}

TEST_F(Network, BadOptionsNameTheValue) {
  UNetOptions o;
  o.widths = {8, 16, 32, 64};
  o.image_size = 28;  // not divisible by 8
  try {
    o.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("image size 28"), std::string::npos);
  }
  o.image_size = 32;
  o.attention_resolutions = {12};
  EXPECT_THROW(o.validate(), InvalidArgument);
  o.attention_resolutions = {};
  o.widths = {8};
  EXPECT_THROW(o.validate(), InvalidArgument);
  EXPECT_THROW(make_network({{"kind", "transformer"}}), InvalidArgument);
}

TEST_F(Network, ChannelsLastEqualsTheDefaultLayout) {
  UNetOptions o;
  o.widths = {8, 16, 24};
  UNet net(o);
  // Give the head weights so that the output is not trivially zero.
  for (auto& p : net.parameters()) p.data().normal_(0, 0.2);
  net.eval();
  auto x = torch::randn({3, 1, 32, 32});
  auto v = torch::rand({3});
  torch::NoGradGuard ng;
  net.set_channels_last(true);
  auto a = net.forward(x, v);
  net.set_channels_last(false);
  auto b = net.forward(x, v);
  EXPECT_GT(a.abs().max().item<float>(), 0.0f);
  EXPECT_LT(((a - b).abs().max() / a.abs().max()).item<float>(), 1e-5);
}

// Under bf16 autocast the convolutions round to 8 significant bits, but the noise embedding's
// angles (up to 2*pi*1000 rad) must stay fp32: rounded to bf16 they are off by whole turns and
// the output is unrelated to the fp32 one.
TEST_F(Network, Bf16AutocastKeepsTheNoiseEmbeddingExact) {
  UNetOptions o;
  o.widths = {8, 16};
  o.image_size = 8;
  UNet net(o);
  for (auto& p : net.parameters()) p.data().normal_(0, 0.2);
  net.eval();
  auto x = torch::randn({4, 1, 8, 8});
  auto v = 0.9 + 0.1 * torch::rand({4});  // high noise: the largest angles
  torch::NoGradGuard ng;
  auto a = net.forward(x, v);
  torch::Tensor b;
  {
    AutocastGuard bf16(torch::kCPU, true);
    b = net.forward(x, v);
  }
  EXPECT_EQ(b.scalar_type(), torch::kBFloat16);
  const double rel = ((b.to(torch::kFloat) - a).norm() / a.norm()).item<double>();
  EXPECT_GT(rel, 0.0);
  EXPECT_LT(rel, 0.02);
}

TEST_F(Network, AdaGNStartsAsGroupNormAndTheConditionModulates) {
  // A fresh modulated block equals the same block without modulation (plain GroupNorm).
  ResidualBlock plain(8, 8, NormKind::Group, 4, 0.0);
  ResidualBlock modulated(8, 8, NormKind::Group, 4, 0.0, /*temb_dim=*/6, /*cond_dim=*/5);
  auto ps = plain->named_parameters();
  for (auto& p : modulated->named_parameters()) {
    if (ps.contains(p.key())) p.value().data().copy_(ps[p.key()]);
  }
  // The plain block's GroupNorm has affine weights 1 and bias 0: the same function.
  auto x = torch::randn({2, 8, 6, 6});
  auto temb = torch::randn({2, 6}), cond = torch::randn({2, 5});
  EXPECT_TRUE(torch::allclose(plain->forward(x), modulated->forward(x, temb, cond), 1e-5, 1e-6));
  // With trained modulation, a zero condition gives the time-only modulation (z_s = 1) and
  // another condition changes the output.
  for (auto& p : modulated->named_parameters())
    if (p.key().find("_mod") != std::string::npos) p.value().data().normal_(0, 0.5);
  auto zero = modulated->forward(x, temb, torch::zeros({2, 5}));
  auto none = modulated->forward(x, temb, torch::Tensor());
  EXPECT_FALSE(torch::allclose(zero, modulated->forward(x, temb, cond), 1e-3, 1e-3));
  // z_s = 1 + W 0 + b differs from 1 only through the bias: zero the bias to compare.
  for (auto& p : modulated->named_parameters())
    if (p.key() == "cond_mod.bias") p.value().data().zero_();
  EXPECT_TRUE(torch::allclose(modulated->forward(x, temb, torch::zeros({2, 5})), none, 1e-5, 1e-6));
}

TEST_F(Network, ConditionedUNetNeedsItsCondition) {
  UNetOptions o;
  o.widths = {8, 16};
  o.norm = NormKind::Group;
  o.cond_dim = 4;
  UNet net(o);
  auto x = torch::randn({2, 1, 32, 32});
  EXPECT_EQ(net.forward(x, torch::rand({2}), torch::randn({2, 4})).sizes(), x.sizes());
  EXPECT_THROW(net.forward(x, torch::rand({2})), InvalidArgument);
}

TEST_F(Network, MlpShapesAndZeroStart) {
  MLPOptions o;
  o.dim = 2;
  o.width = 16;
  o.layers = 3;
  MLP net(o);
  auto x = torch::randn({7, 2});
  auto y = net.forward(x, torch::rand({7}));
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(make_network(o.to_json())->describe(), o.to_json());
}

// The bf16 fast paths (network.h): swish as x sigmoid(x) and upsampling through fp32 under
// gradients are within the plain bf16 kernels' own error against fp32, values and gradients,
// and the fp32 paths are the plain operations themselves.
namespace {

struct Errors {
  double value_max, value_mean, grad_max, grad_mean;
};

// f on x in `dtype` against f in fp32 on the same x: the errors of the values and of the
// gradients of sum(f(x) w).
Errors errors_against_fp32(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                           const torch::Tensor& x, const torch::Tensor& w,
                           const std::function<torch::Tensor(const torch::Tensor&)>& ref) {
  auto xf = x.clone().set_requires_grad(true);
  auto yf = ref(xf);
  (yf * w).sum().backward();
  auto xb = x.to(torch::kBFloat16).set_requires_grad(true);
  auto yb = f(xb);
  (yb.to(torch::kFloat) * w).sum().backward();
  const auto dv = (yb.detach().to(torch::kFloat) - yf.detach()).abs();
  const auto dg = (xb.grad().to(torch::kFloat) - xf.grad()).abs();
  return {dv.max().item<double>(), dv.mean().item<double>(), dg.max().item<double>(),
          dg.mean().item<double>()};
}

void expect_within(const Errors& fast, const Errors& plain, const char* what) {
  EXPECT_LE(fast.value_max, 1.5 * plain.value_max) << what;
  EXPECT_LE(fast.value_mean, 1.5 * plain.value_mean) << what;
  EXPECT_LE(fast.grad_max, 1.5 * plain.grad_max) << what;
  EXPECT_LE(fast.grad_mean, 1.5 * plain.grad_mean) << what;
}

}  // namespace

TEST_F(Network, Bf16SwishAndUpsamplingAreWithinThePlainBf16KernelsError) {
  const auto x = torch::randn({4, 8, 8, 8}) * 3;
  const auto size = std::vector<int64_t>{16, 16};
  // fp32: ddim's swish kernel (nn/swish.h) to float rounding; upsampling exactly LibTorch's.
  EXPECT_TRUE(torch::allclose(swish(x), torch::silu(x), 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(upsample2x(x), torch::upsample_bilinear2d(x, size, false)));
  const auto silu = [](const torch::Tensor& t) { return torch::silu(t); };
  const auto up = [&](const torch::Tensor& t) { return torch::upsample_bilinear2d(t, size, false); };
  const auto w = torch::randn({4, 8, 8, 8}), w2 = torch::randn({4, 8, 16, 16});
  expect_within(errors_against_fp32(swish, x, w, silu), errors_against_fp32(silu, x, w, silu), "swish");
  expect_within(errors_against_fp32(upsample2x, x, w2, up), errors_against_fp32(up, x, w2, up), "upsampling");
}

// Eval mode folds the batch norm into conv1 (blocks.cpp), against the plain norm-then-
// convolution path (set_norm_folding off): fp32 within 1e-5 relative, bf16 within the plain
// bf16 path's own error against fp32, gradients (eval-mode fine-tuning) within 1e-5 too, and
// the fold follows a change of the weights.
TEST_F(Network, FoldedBatchNormEqualsThePlainNetwork) {
  for (const int64_t side : {32, 8}) {  // 8: the lowest levels are 2x2 and 1x1 (all border)
    UNetOptions o;
    o.widths = {8, 16, 24, 32};
    o.block_depth = 2;
    o.embedding_dims = 8;
    o.image_size = side;
    UNet net(o);
    randomise_weights_and_statistics(net);
    net.eval();
    net.set_channels_last(true);
    net.set_prepared(false);  // the fold itself (test_prepared_unet.cpp tests the prepared form)
    const auto x = torch::randn({3, 1, side, side});
    const auto v = torch::rand({3});
    const auto run = [&](bool folded, bool bf16) {
      torch::NoGradGuard no_grad;
      set_norm_folding(net, folded);
      AutocastGuard autocast(torch::kCPU, bf16);
      return net.forward(x, v).to(torch::kFloat);
    };
    const auto ref = run(false, false);
    const auto relative = [](const torch::Tensor& y, const torch::Tensor& r) {
      return ((y - r).norm() / r.norm()).item<double>();
    };
    EXPECT_LE(relative(run(true, false), ref), 1e-5) << side;
    EXPECT_LE((run(true, false) - ref).abs().max().item<double>(), 1e-5 * ref.abs().max().item<double>())
        << side;
    EXPECT_LE(relative(run(true, true), ref), 1.5 * relative(run(false, true), ref) + 1e-4) << side;
    // Gradients with respect to the input and to a weight, folding on and off.
    const auto gradients = [&](bool folded) {
      set_norm_folding(net, folded);
      auto xi = x.clone().set_requires_grad(true);
      auto w = net.named_parameters()["down0_0.conv1.weight"];
      w.mutable_grad() = torch::Tensor();
      (net.forward(xi, v) * ref).sum().backward();
      return std::make_pair(xi.grad().clone(), w.grad().clone());
    };
    const auto [gx0, gw0] = gradients(false);
    const auto [gx1, gw1] = gradients(true);
    EXPECT_LE(relative(gx1, gx0), 1e-5) << side;
    EXPECT_LE(relative(gw1, gw0), 1e-5) << side;
    // A changed weight (a fine-tuning step, a loaded state) is folded again.
    {
      torch::NoGradGuard no_grad;
      for (auto& p : net.named_parameters())
        if (p.key().find("conv1.weight") != std::string::npos) p.value().mul_(1.5);
    }
    const auto changed = run(false, false);
    EXPECT_GT(relative(changed, ref), 1e-3);
    EXPECT_LE(relative(run(true, false), changed), 1e-5) << side;
  }
}
