// The prepared inference form of the U-Net (nn/prepared_unet.h) against the plain modules.
#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/nn/blocks.h"
#include "ddim/nn/diffae.h"
#include "ddim/nn/prepared_unet.h"
#include "ddim/nn/unet.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

double relative(const torch::Tensor& y, const torch::Tensor& r) {
  return ((y.to(torch::kFloat) - r).norm() / r.norm()).item<double>();
}

// The plain modules: no prepared form, no folded norm.
torch::Tensor plain(UNet& net, const torch::Tensor& x, const torch::Tensor& v, bool bf16 = false) {
  torch::NoGradGuard no_grad;
  net.set_prepared(false);
  set_norm_folding(net, false);
  AutocastGuard autocast(torch::kCPU, bf16);
  auto y = net.forward(x, v).to(torch::kFloat);
  net.set_prepared(true);
  set_norm_folding(net, true);
  return y;
}

}  // namespace

class Prepared : public SeededTest {};

// fp32 within 1e-5 relative (and elementwise, against the largest value) of the plain network,
// on the paper's architecture at several sizes, depths, channel counts and batches (1 included),
// with and without the noise input; bf16 within the plain bf16 path's own error against fp32;
// and UNet::forward runs it by itself in eval mode without gradients, bit for bit.
TEST_F(Prepared, EqualsThePlainNetwork) {
  if (!prepared_inference_built()) GTEST_SKIP() << "this build has no oneDNN";
  struct Case {
    std::vector<int64_t> widths;
    int64_t depth, side, channels, batch;
    bool noise;
  };
  for (const auto& c : {Case{{16, 32, 48, 64}, 2, 32, 1, 3, true}, Case{{16, 32, 48, 64}, 2, 8, 1, 1, true},
                        Case{{32, 64}, 1, 16, 3, 2, true}, Case{{16, 32, 48}, 3, 16, 3, 2, false}}) {
    const auto what = fmt::format("widths {} depth {} side {} channels {} batch {} noise {}",
                                  fmt::join(c.widths, ","), c.depth, c.side, c.channels, c.batch, c.noise);
    UNetOptions o;
    o.widths = c.widths;
    o.block_depth = c.depth;
    o.embedding_dims = 16;
    o.image_size = c.side;
    o.channels = c.channels;
    o.noise_input = c.noise;
    UNet net(o);
    randomise_weights_and_statistics(net);
    net.eval();
    ASSERT_EQ(PreparedUNet::why_not(net.options()), "") << what;
    const auto x = torch::randn({c.batch, c.channels, c.side, c.side});
    const auto v = torch::rand({c.batch});
    const auto ref = plain(net, x, v);
    PreparedUNet prepared(net);
    const auto y = prepared.forward(x, v, /*bf16=*/false);
    ASSERT_TRUE(y.defined()) << what << ": no fast fp32 kernel";
    EXPECT_EQ(y.sizes(), ref.sizes()) << what;
    EXPECT_LE(relative(y, ref), 1e-5) << what;
    EXPECT_LE((y - ref).abs().max().item<double>(), 1e-5 * ref.abs().max().item<double>()) << what;
    {
      torch::NoGradGuard no_grad;
      EXPECT_TRUE(torch::equal(net.forward(x, v), y)) << what << ": UNet::forward did not take it";
      EXPECT_TRUE(torch::equal(prepared.forward(x, v, false), y)) << what << ": a second call differs";
    }
    const auto y16 = prepared.forward(x, v, /*bf16=*/true);
    if (!y16.defined()) continue;  // this CPU has no native bf16 convolutions: the plain path runs
    EXPECT_EQ(y16.scalar_type(), torch::kBFloat16);
    EXPECT_LE(relative(y16, ref), 1.5 * relative(plain(net, x, v, true), ref) + 1e-3) << what;
  }
}

// It is made again when a weight or a statistic changes (in place, as an optimiser or a
// Python user does), and it stays out of the way where it does not apply: training mode,
// gradients, networks it does not cover (group norm, attention, conditioning: Diff-AE's
// decoder, class-conditional U-Nets), and when switched off.
TEST_F(Prepared, FollowsTheWeightsAndLeavesThePlainPathWhereItDoesNotApply) {
  UNetOptions o;
  o.widths = {16, 32};
  o.block_depth = 1;
  o.embedding_dims = 16;
  o.image_size = 8;
  UNet net(o);
  randomise_weights_and_statistics(net);
  net.eval();
  const auto x = torch::randn({2, 1, 8, 8});
  const auto v = torch::rand({2});
  const auto forward = [&] {
    torch::NoGradGuard no_grad;
    return net.forward(x, v);
  };
  const auto before = forward();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net.named_parameters())
      if (p.key().find("conv2.weight") != std::string::npos) p.value().mul_(1.5);
    for (auto& b : net.named_buffers())
      if (b.key().find("running_mean") != std::string::npos) b.value().add_(0.5);
  }
  const auto after = forward();
  EXPECT_GT(relative(after, before), 1e-3);
  EXPECT_LE(relative(after, plain(net, x, v)), 1e-5);
  // A weight replaced through set_data (as Module::to does) is a new address, seen between two
  // calls of the prepared form (plain() above makes it collect its tensors again).
  EXPECT_TRUE(torch::equal(forward(), after));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net.named_parameters())
      if (p.key().find("conv1.weight") != std::string::npos) p.value().set_data(p.value().data() * 0.5);
  }
  const auto replaced = forward();
  EXPECT_GT(relative(replaced, after), 1e-3);
  EXPECT_LE(relative(replaced, plain(net, x, v)), 1e-5);
  // One noise variance per image, as the plain path wants.
  {
    torch::NoGradGuard no_grad;
    EXPECT_THROW(net.forward(x, torch::rand({3})), InvalidArgument);
  }

  // With gradients the plain path runs (and they flow); in training mode too.
  auto xi = x.clone().set_requires_grad(true);
  const auto with_grad = net.forward(xi, v);
  EXPECT_TRUE(with_grad.requires_grad());
  net.set_prepared(false);
  EXPECT_TRUE(torch::equal(with_grad, net.forward(x.clone().set_requires_grad(true), v)));
  net.set_prepared(true);
  net.train();
  {
    torch::NoGradGuard no_grad;
    const auto training = net.forward(x, v);
    net.set_prepared(false);
    EXPECT_TRUE(torch::equal(training, net.forward(x, v)));
    net.set_prepared(true);
  }
  net.eval();

  // Networks it does not cover say why, and run the plain path.
  UNetOptions g = o;
  g.norm = NormKind::Group;
  EXPECT_NE(PreparedUNet::why_not(g), "");
  UNetOptions a = o;
  a.attention_resolutions = {4};
  EXPECT_NE(PreparedUNet::why_not(a), "");
  UNetOptions k = o;
  k.classes = 3;
  k.cond_dim = 8;
  UNet classes(k);
  EXPECT_NE(PreparedUNet::why_not(classes.options()), "");
  EXPECT_THROW(PreparedUNet{classes}, InvalidArgument);
  randomise_weights_and_statistics(classes);
  classes.eval();
  const auto cond = class_condition(torch::tensor({0, 2}), 3);
  torch::NoGradGuard no_grad;
  const auto on = classes.forward(x, v, cond);
  classes.set_prepared(false);
  EXPECT_TRUE(torch::equal(on, classes.forward(x, v, cond)));
}
