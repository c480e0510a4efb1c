// The operator profile (core/profile.h): FLOPs of convolutions and matrix products from their
// shapes, exactly; self times that add up; the machine's matrix-product rate.
#include <torch/torch.h>

#include "ddim/core/profile.h"
#include "ddim/nn/blocks.h"
#include "ddim/nn/prepared_unet.h"
#include "ddim/nn/unet.h"
#include "ddim/nn/winograd.h"
#include "support.h"

using namespace ddim;

namespace {

const OpCost* find_op(const OpProfile& p, const std::string& name) {
  for (const auto& o : p.ops)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace

TEST(Profile, CountsConvolutionAndMatrixProductFlopsOnceFromTheirShapes) {
  torch::manual_seed(0);
  auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1));
  const auto x = torch::randn({2, 3, 16, 16}, torch::requires_grad());
  const auto a = torch::randn({5, 7}), b = torch::randn({7, 11});
  const auto p = profile_ops([&] {
    conv->forward(x).sum().backward();
    (void)torch::mm(a, b);
  });
  const double forward = 2.0 * 2 * 8 * 16 * 16 * 3 * 3 * 3;  // 2 N O H W C kh kw
  const auto* fwd = find_op(p, "aten::convolution");
  ASSERT_NE(fwd, nullptr);
  EXPECT_EQ(fwd->calls, 1);
  EXPECT_DOUBLE_EQ(fwd->flops, forward);
  EXPECT_EQ(fwd->group, "convolution");
  const auto* bwd = find_op(p, "aten::convolution_backward");
  ASSERT_NE(bwd, nullptr);
  EXPECT_DOUBLE_EQ(bwd->flops, 2 * forward);  // the input's and the weights' gradients
  const auto* mm = find_op(p, "aten::mm");
  ASSERT_NE(mm, nullptr);
  EXPECT_DOUBLE_EQ(mm->flops, 2.0 * 5 * 7 * 11);
  EXPECT_DOUBLE_EQ(p.flops, 3 * forward + 2.0 * 5 * 7 * 11);  // nothing counted twice
  // Self times are parts of the work: positive, and together within its wall time.
  double sum = 0;
  for (const auto& o : p.ops) {
    EXPECT_GE(o.self_us, 0) << o.name;
    sum += o.self_us;
  }
  // (Summed in another order than total_us: equal to rounding, which can pass EXPECT_DOUBLE_EQ's 4 ulps.)
  EXPECT_NEAR(sum, p.total_us, 1e-9 * p.total_us);
  EXPECT_LE(p.total_us, p.wall_s * 1e6 * 1.05);
  double grouped = 0;
  for (const auto& g : p.by_group()) grouped += g.self_us;
  EXPECT_NEAR(grouped, p.total_us, 1e-6 * p.total_us);
}

// A training step's convolution by Winograd's algorithm counts its forward FLOPs three times:
// the forward pass, the input's gradient and the weights' gradient, each by ddim's kernels (the
// bias's gradient is a sum, not a product).
TEST(Profile, WinogradsTrainingConvolutionCountsEachPassOnce) {
  if (winograd_simd_levels().empty()) GTEST_SKIP() << "this CPU has neither AVX2 with FMA nor AVX-512";
  torch::manual_seed(0);
  const auto x =
      torch::randn({4, 32, 16, 16}).contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_(true);
  const auto w = torch::randn({32, 32, 3, 3}).requires_grad_(true),
             b = torch::randn({32}).requires_grad_(true);
  const auto p = profile_ops([&] { conv3x3(x, w, b).sum().backward(); });
  const double forward = 2.0 * 4 * 32 * 16 * 16 * 32 * 3 * 3;
  ASSERT_NE(find_op(p, "ddim::winograd_convolution_weight_gradient"), nullptr);
  EXPECT_EQ(find_op(p, "ddim::winograd_convolution_weight_gradient")->group, "convolution");
  EXPECT_EQ(find_op(p, "aten::convolution_backward"), nullptr);
  EXPECT_DOUBLE_EQ(p.flops, 3 * forward);
  ASSERT_TRUE(w.grad().defined() && b.grad().defined() && x.grad().defined());
}

// The prepared U-Net's convolutions (oneDNN's, and Winograd's where this CPU runs them) and its
// stem and head as its own 1x1 kernels count the same FLOPs as the plain modules' convolutions
// (unfolded: the plain fold adds its border corrections).
TEST(Profile, ThePreparedUNetCountsThePlainModulesFlops) {
  if (!prepared_inference_built()) GTEST_SKIP() << "this build has no oneDNN";
  torch::manual_seed(0);
  UNetOptions o;
  o.widths = {16, 32};
  o.block_depth = 1;
  o.embedding_dims = 16;
  o.image_size = 16;  // 128 tiles at 16x16 take Winograd's convolutions, 32 at 8x8 the direct ones
  UNet net(o);
  net.eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 1, 16, 16}), v = torch::full({2}, 0.5);
  auto run = [&](bool prepared) {
    net.set_prepared(prepared);
    // The plain modules with batch norm as its own operator (folded, the plain path adds the
    // border's correction convolutions).
    set_norm_folding(net, prepared);
    (void)net.forward(x, v);  // the prepared form is made on first use, not profiled here
    return profile_ops([&] { (void)net.forward(x, v); });
  };
  const auto plain = run(false), prepared = run(true);
  EXPECT_GT(plain.flops, 0);
  EXPECT_DOUBLE_EQ(prepared.flops, plain.flops);
  const auto* winograd = find_op(prepared, "ddim::winograd_convolution");
  EXPECT_EQ(winograd != nullptr, !winograd_simd_levels().empty());
  if (winograd) {
    EXPECT_EQ(winograd->group, "convolution");
  }
}

TEST(Profile, GroupsNameTheUNetsOperators) {
  EXPECT_EQ(op_group("aten::mkldnn_convolution"), "convolution");
  EXPECT_EQ(op_group("aten::native_batch_norm_backward"), "batch norm");
  EXPECT_EQ(op_group("aten::silu_"), "SiLU");
  EXPECT_EQ(op_group("aten::sigmoid_backward"), "SiLU");
  EXPECT_EQ(op_group("aten::upsample_bilinear2d_backward"), "upsampling");
  EXPECT_EQ(op_group("aten::avg_pool2d"), "pooling");
  EXPECT_EQ(op_group("aten::cat"), "concatenation");
  EXPECT_EQ(op_group("aten::copy_"), "copies and casts");
  EXPECT_EQ(op_group("aten::some_new_op"), "other");
}

TEST(Profile, TheMatrixProductRateIsMeasured) {
  const double rate = gemm_gflops(128, torch::kFloat, 0.05);
  EXPECT_GT(rate, 0.01);  // any machine multiplies 128x128 matrices at more than 10 MFLOP/s
  EXPECT_LT(rate, 1e6);   // and at less than a PFLOP/s on its CPU
  EXPECT_NE(cpu_description().find_first_not_of(' '), std::string::npos);
}
