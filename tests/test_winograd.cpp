// Winograd's F(2x2, 3x3) (nn/winograd.h) against LibTorch's direct convolution, for each vector
// instruction set this CPU runs.
#include "ddim/core/error.h"
#include "ddim/nn/winograd.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

const char* name(SimdLevel level) { return level == SimdLevel::Avx512 ? "AVX-512" : "AVX2"; }

torch::Tensor channels_last(const torch::Tensor& t) {
  return t.contiguous(torch::MemoryFormat::ChannelsLast);
}

}  // namespace

class Winograd : public SeededTest {};

// Each epilogue, on even and odd sizes (the last tile's row or column past the edge), one-pixel
// and one-tile images, channel counts with and without a tail of the input's vector, and more
// tiles than one block: within 1e-5 relative of the direct convolution, and elementwise against
// the largest output (Winograd's transforms add a few ulps of the sums, as summation order does).
TEST_F(Winograd, EqualsDirectConvolution) {
  const auto levels = winograd_simd_levels();
  if (levels.empty()) GTEST_SKIP() << "this CPU has neither AVX2 with FMA nor AVX-512";
  struct Case {
    int64_t batch, in, out, h, w;
  };
  for (const auto level : levels)
    for (const auto& c : {Case{2, 32, 32, 8, 8}, Case{3, 20, 48, 7, 9}, Case{1, 5, 16, 1, 1},
                          Case{1, 64, 96, 2, 2}, Case{5, 224, 96, 8, 8}, Case{64, 16, 32, 16, 16}}) {
      const auto what =
          fmt::format("{}: batch {} in {} out {} size {}x{}", name(level), c.batch, c.in, c.out, c.h, c.w);
      const auto x = channels_last(torch::randn({c.batch, c.in, c.h, c.w}));
      const auto weight = torch::randn({c.out, c.in, 3, 3}) / std::sqrt(9.0 * c.in);
      const auto bias = torch::randn({c.out});
      const auto direct = torch::conv2d(x, weight, bias, 1, 1);
      const auto residual = channels_last(torch::randn_like(direct));
      const std::pair<WinogradConvolution::Epilogue, torch::Tensor> expected[] = {
          {WinogradConvolution::Epilogue::None, direct},
          {WinogradConvolution::Epilogue::Swish, torch::silu(direct)},
          {WinogradConvolution::Epilogue::Accumulate, residual + direct}};
      const WinogradConvolution conv(weight, bias, level);
      for (const auto& [epilogue, want] : expected) {
        auto y = epilogue == WinogradConvolution::Epilogue::Accumulate
                     ? residual.clone()
                     : channels_last(torch::full_like(direct, NAN));
        conv(x, y, epilogue);
        const double relative = ((y - want).norm() / want.norm()).item<double>();
        const double elementwise = ((y - want).abs().max() / want.abs().max()).item<double>();
        EXPECT_LT(relative, 1e-5) << what << " epilogue " << static_cast<int>(epilogue);
        EXPECT_LT(elementwise, 1e-5) << what << " epilogue " << static_cast<int>(epilogue);
      }
    }
}

// The same input gives the same bits, whatever the threads (a tile's sums do not depend on which
// block or thread computes it).
TEST_F(Winograd, IsDeterministicAcrossThreadCounts) {
  const auto levels = winograd_simd_levels();
  if (levels.empty()) GTEST_SKIP() << "this CPU has neither AVX2 with FMA nor AVX-512";
  const auto x = channels_last(torch::randn({9, 32, 12, 12}));
  const WinogradConvolution conv(torch::randn({32, 32, 3, 3}), torch::randn({32}), levels.front());
  const int threads = at::get_num_threads();
  auto run = [&](int n) {
    at::set_num_threads(n);
    auto y = channels_last(torch::empty({9, 32, 12, 12}));
    conv(x, y, WinogradConvolution::Epilogue::Swish);
    return y;
  };
  const auto one = run(1), two = run(2);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));
}

// The weights' gradient by Winograd's transforms, for each instruction set, against LibTorch's
// backward in double: odd sizes (the last tiles' outputs past the edge), one-pixel images, input
// channels with a tail of the micro-kernel's six rows, output channels with a single vector's
// tail, and more tiles than one chunk of blocks. Within 1e-5 relative, and elementwise against the
// largest value.
TEST_F(Winograd, WeightGradientEqualsLibTorchs) {
  const auto levels = winograd_simd_levels();
  if (levels.empty()) GTEST_SKIP() << "this CPU has neither AVX2 with FMA nor AVX-512";
  struct Case {
    int64_t batch, in, out, h, w;
  };
  for (const auto level : levels)
    for (const auto& c : {Case{2, 32, 32, 8, 8}, Case{3, 20, 48, 7, 9}, Case{4, 5, 16, 1, 1},
                          Case{5, 224, 96, 8, 8}, Case{36, 32, 32, 32, 32}}) {
      const auto what =
          fmt::format("{}: batch {} in {} out {} size {}x{}", name(level), c.batch, c.in, c.out, c.h, c.w);
      const auto x = channels_last(torch::randn({c.batch, c.in, c.h, c.w}));
      const auto grad = channels_last(torch::randn({c.batch, c.out, c.h, c.w}));
      const auto weight = torch::randn({c.out, c.in, 3, 3}, torch::kDouble);
      const auto want = std::get<1>(at::convolution_backward(grad.to(torch::kDouble), x.to(torch::kDouble),
                                                             weight, at::IntArrayRef{c.out}, {1, 1}, {1, 1},
                                                             {1, 1}, false, {0, 0}, 1, {false, true, false}));
      const auto got = winograd_weight_gradient(x, grad, level).to(torch::kDouble);
      ASSERT_EQ(got.sizes(), want.sizes()) << what;
      EXPECT_LT(((got - want).norm() / want.norm()).item<double>(), 1e-5) << what;
      EXPECT_LT(((got - want).abs().max() / want.abs().max()).item<double>(), 1e-5) << what;
    }
  // What it cannot take is refused.
  const auto level = levels.front();
  EXPECT_THROW(
      winograd_weight_gradient(torch::randn({1, 8, 4, 4}), channels_last(torch::randn({1, 16, 4, 4})), level),
      InvalidArgument);  // not channels-last
  EXPECT_THROW(winograd_weight_gradient(channels_last(torch::randn({1, 8, 4, 4})),
                                        channels_last(torch::randn({1, 16, 4, 5})), level),
               InvalidArgument);  // sizes differ
  EXPECT_THROW(winograd_weight_gradient(channels_last(torch::randn({1, 8, 4, 4})),
                                        channels_last(torch::randn({1, 20, 4, 4})), level),
               InvalidArgument);  // 20 output channels
}

// Its chunks are fixed by the shape, and summed in order: the same bits on any thread count.
TEST_F(Winograd, WeightGradientIsDeterministicAcrossThreadCounts) {
  const auto levels = winograd_simd_levels();
  if (levels.empty()) GTEST_SKIP() << "this CPU has neither AVX2 with FMA nor AVX-512";
  const auto x = channels_last(torch::randn({36, 32, 32, 32}));
  const auto grad = channels_last(torch::randn({36, 32, 32, 32}));
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = winograd_weight_gradient(x, grad, levels.front());
  at::set_num_threads(2);
  const auto two = winograd_weight_gradient(x, grad, levels.front());
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));
}

// What it cannot take is refused with a message naming it, not computed wrongly.
TEST_F(Winograd, RefusesWhatItCannotTake) {
  const auto levels = winograd_simd_levels();
  if (levels.empty()) GTEST_SKIP() << "this CPU has neither AVX2 with FMA nor AVX-512";
  const auto level = levels.front();
  EXPECT_NE(WinogradConvolution::why_not(32, 20, level).find("20 output channels"), std::string::npos);
  EXPECT_THROW(WinogradConvolution(torch::randn({32, 16, 1, 1}), torch::randn({32}), level), InvalidArgument);
  const WinogradConvolution conv(torch::randn({32, 16, 3, 3}), torch::randn({32}), level);
  auto y = channels_last(torch::empty({1, 32, 4, 4}));
  EXPECT_THROW(conv(torch::randn({1, 16, 4, 4}).contiguous(), y, WinogradConvolution::Epilogue::None),
               InvalidArgument);  // not channels-last
  EXPECT_THROW(conv(channels_last(torch::randn({1, 8, 4, 4})), y, WinogradConvolution::Epilogue::None),
               InvalidArgument);  // wrong channels
}

// conv3x3, the residual blocks' differentiable convolution: the output and the input's, weights'
// and bias's gradients equal LibTorch's convolution and its backward, where Winograd's runs (the
// input's gradient by Winograd's too where the input channels allow it, by LibTorch's where they do
// not) and where it does not (too few tiles, NCHW input).
TEST_F(Winograd, Conv3x3AndItsGradientsEqualLibTorchs) {
  if (winograd_simd_levels().empty()) GTEST_SKIP() << "this CPU has neither AVX2 with FMA nor AVX-512";
  struct Case {
    int64_t batch, in, out, side;
    bool channels_last;
  };
  for (const auto& c : {Case{4, 32, 48, 12, true}, Case{3, 20, 32, 11, true}, Case{1, 32, 32, 4, true},
                        Case{4, 32, 32, 12, false}, Case{36, 32, 32, 32, true}}) {
    const auto what = fmt::format("batch {} in {} out {} side {} channels-last {}", c.batch, c.in, c.out,
                                  c.side, c.channels_last);
    auto x0 = torch::randn({c.batch, c.in, c.side, c.side});
    if (c.channels_last) x0 = channels_last(x0);
    const auto w0 = torch::randn({c.out, c.in, 3, 3}) / std::sqrt(9.0 * c.in), b0 = torch::randn({c.out});
    const auto r = torch::randn({c.batch, c.out, c.side, c.side});
    auto run = [&](bool ours) {
      auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true),
           b = b0.clone().requires_grad_(true);
      const auto y = ours ? conv3x3(x, w, b) : torch::conv2d(x, w, b, 1, 1);
      (y * r).sum().backward();
      return std::vector<torch::Tensor>{y.detach(), x.grad(), w.grad(), b.grad()};
    };
    const auto ours = run(true), theirs = run(false);
    const char* names[] = {"output", "input's gradient", "weights' gradient", "bias's gradient"};
    for (size_t i = 0; i < ours.size(); ++i)
      EXPECT_LT(((ours[i] - theirs[i]).norm() / theirs[i].norm()).item<double>(), 1e-5)
          << what << ": " << names[i];
  }
}
