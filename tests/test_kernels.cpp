// ddim's kernels for the passes around the convolutions (nn/swish.h, nn/batch_norm.h,
// nn/group_norm.h) against LibTorch's operations: values, first and second derivatives, the
// running statistics, for fp32 and bf16, for each vector instruction set this CPU runs, and the
// same bits on any number of threads; and the conditioned U-Nets' no-grad passes built on them.
#include <cstdlib>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/nn/batch_norm.h"
#include "ddim/nn/blocks.h"
#include "ddim/nn/group_norm.h"
#include "ddim/nn/swish.h"
#include "ddim/nn/unet.h"
#include "ddim/nn/winograd.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

torch::Tensor cl_copy(const torch::Tensor& t) { return t.contiguous(torch::MemoryFormat::ChannelsLast); }

// Runs f once per instruction set this CPU has kernels for (ATEN_CPU_CAPABILITY=avx2 selects the
// AVX2 ones on an AVX-512 CPU), with the name of the set; none: the test is skipped.
void for_each_simd_level(const std::function<void(const std::string&)>& f) {
  const auto levels = winograd_simd_levels();
  if (levels.empty()) GTEST_SKIP() << "this CPU has neither AVX2 with FMA nor AVX-512";
  const char* was = std::getenv("ATEN_CPU_CAPABILITY");
  const std::string saved = was ? was : "";
  for (const auto level : levels) {
    if (level == SimdLevel::Avx2 && levels.front() == SimdLevel::Avx512)
      setenv("ATEN_CPU_CAPABILITY", "avx2", 1);
    f(level == SimdLevel::Avx512 ? "AVX-512" : "AVX2");
    if (was)
      setenv("ATEN_CPU_CAPABILITY", saved.c_str(), 1);
    else
      unsetenv("ATEN_CPU_CAPABILITY");
  }
}

// f() on one thread and on two (LibTorch's pool back as it was after).
template <class F>
auto on_one_and_two_threads(const F& f) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one = f();
  at::set_num_threads(2);
  auto two = f();
  at::set_num_threads(threads);
  return std::pair{one, two};
}

double max_relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto d = (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max();
  return (d / b.to(torch::kDouble).abs().max().clamp_min(1e-30)).item<double>();
}

// Value and gradient of sum(f(x) w) on a fresh leaf copy of x.
std::pair<torch::Tensor, torch::Tensor> value_and_gradient(
    const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& x,
    const torch::Tensor& w) {
  auto leaf = x.detach().clone().set_requires_grad(true);
  auto y = f(leaf);
  (y.to(torch::kFloat) * w).sum().backward();
  return {y.detach(), leaf.grad()};
}

// The gradient of sum(grad_x(sum(f(x) w)) v): a second derivative.
torch::Tensor second_derivative_of(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                                   const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& v) {
  auto leaf = x.detach().clone().set_requires_grad(true);
  const auto g = torch::autograd::grad({(f(leaf) * w).sum()}, {leaf}, {}, true, true)[0];
  return torch::autograd::grad({(g * v).sum()}, {leaf})[0];
}

}  // namespace

class Swish : public SeededTest {};

// fp32: LibTorch's silu and its gradient to float rounding; bf16: fp32's values rounded to bf16,
// within one bf16 step (2^-8 relative), on tensors with vector tails and many blocks, in both
// layouts, with large and tiny inputs (e^x's clamps).
TEST_F(Swish, EqualsSiluAndItsGradient) {
  for_each_simd_level([](const std::string& level) {
    std::vector<torch::Tensor> inputs = {torch::randn({4, 8, 8, 8}) * 3,
                                         cl_copy(torch::randn({3, 24, 5, 7}) * 3), torch::randn({9001}) * 4,
                                         torch::tensor({-100.f, -90.f, -20.f, 0.f, 1e-30f, 20.f, 100.f})};
    for (const auto& x : inputs) {
      const auto what = fmt::format("{}, {} values", level, x.numel());
      ASSERT_TRUE(swish_kernel_applies(x)) << what;
      const auto w = torch::randn(x.sizes());
      const auto silu = [](const torch::Tensor& t) { return torch::silu(t); };
      const auto [y, g] = value_and_gradient(swish, x, w);
      const auto [y0, g0] = value_and_gradient(silu, x, w);
      EXPECT_TRUE(torch::allclose(y, y0, 2e-6, 1e-30)) << what << ": " << max_relative_error(y, y0);
      EXPECT_TRUE(torch::allclose(g, g0, 2e-6, 1e-6)) << what << ": " << max_relative_error(g, g0);
      EXPECT_EQ(y.strides(), x.strides()) << what;

      const auto xb = x.to(torch::kBFloat16);
      const auto [yb, gb] = value_and_gradient(swish, xb, w);
      const auto xf = xb.to(torch::kFloat);
      const auto [yf, gf] = value_and_gradient(silu, xf, w);
      EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
      EXPECT_TRUE(torch::allclose(yb.to(torch::kFloat), yf, 1.0 / 256, 1e-30)) << what;
      // The gradient is computed in fp32 from bf16 x and bf16 w (the upstream gradient), then rounded.
      const auto [gw, gwf] = value_and_gradient(silu, xf, w.to(torch::kBFloat16).to(torch::kFloat));
      EXPECT_TRUE(torch::allclose(gb.to(torch::kFloat), gwf, 1.0 / 256, 1e-6)) << what;
    }
  });
}

TEST_F(Swish, SecondDerivativeEqualsSilus) {
  const auto x = cl_copy(torch::randn({2, 16, 4, 4}) * 2);
  const auto w = torch::randn(x.sizes()), v = torch::randn(x.sizes());
  const auto plain = second_derivative_of([](const torch::Tensor& t) { return torch::silu(t); }, x, w, v);
  EXPECT_TRUE(torch::allclose(second_derivative_of(swish, x, w, v), plain, 1e-5, 1e-6));
}

TEST_F(Swish, IsDeterministicAcrossThreadCounts) {
  const auto x = cl_copy(torch::randn({8, 40, 16, 16}).to(torch::kBFloat16)).set_requires_grad(true);
  const auto w = torch::randn(x.sizes());
  const auto [one, two] = on_one_and_two_threads([&] { return value_and_gradient(swish, x, w); });
  EXPECT_TRUE(torch::equal(one.first, two.first));
  EXPECT_TRUE(torch::equal(one.second, two.second));
}

// Strided views and other types are LibTorch's silu, exactly.
TEST_F(Swish, LeavesWhatItCannotTakeToLibTorch) {
  const auto x = torch::randn({6, 10}).t();
  EXPECT_FALSE(swish_kernel_applies(x));
  EXPECT_TRUE(torch::equal(swish(x), torch::silu(x)));
  const auto d = torch::randn({5}, torch::kDouble);
  EXPECT_FALSE(swish_kernel_applies(d));
  EXPECT_TRUE(torch::equal(swish(d), torch::silu(d)));
}

class BatchNorm : public SeededTest {};

namespace {

struct NormRun {
  torch::Tensor y, grad, mean, var;
};

// batch_norm_training, or with `plain` LibTorch's, from running statistics (0.5, 2): the output,
// the gradient of sum(y w), and the running statistics after the step.
NormRun run_batch_norm(const torch::Tensor& x, const torch::Tensor& w, bool plain) {
  const int64_t c = x.size(1);
  const auto stats = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto mean = torch::full({c}, 0.5, stats), var = torch::full({c}, 2.0, stats);
  const auto f = [&](const torch::Tensor& t) {
    return plain ? torch::batch_norm(t, {}, {}, mean, var, true, 0.01, 1e-3, false)
                 : batch_norm_training(t, mean, var, 0.01, 1e-3);
  };
  auto [y, g] = value_and_gradient(f, x, w);
  return {y, g, mean, var};
}

}  // namespace

// fp32 within 1e-5 of LibTorch's norm (values, gradient, running statistics) on channel counts
// with and without a vector tail, pixel counts from 2 to many blocks, and data whose mean is far
// larger than its spread; bf16 within LibTorch's own bf16 error against fp32.
TEST_F(BatchNorm, EqualsLibTorchsTrainingModeNorm) {
  for_each_simd_level([](const std::string& level) {
    struct Case {
      int64_t b, c, h, w;
      double offset;
    };
    for (const auto& k : {Case{8, 32, 8, 8, 0}, Case{3, 33, 5, 7, 0}, Case{2, 16, 1, 1, 0},
                          Case{64, 24, 16, 16, 0}, Case{4, 48, 6, 6, 1000}}) {
      const auto what = fmt::format("{}, {}x{}x{}x{}, offset {}", level, k.b, k.c, k.h, k.w, k.offset);
      const auto x = cl_copy(torch::randn({k.b, k.c, k.h, k.w}) * torch::rand({1, k.c, 1, 1}) * 3 +
                             torch::randn({1, k.c, 1, 1}) + k.offset);
      const auto w = torch::randn(x.sizes());
      ASSERT_TRUE(batch_norm_kernel_applies(x)) << what;
      // The reference in double: fp32's own rounding of the large offset would dominate it.
      const auto ref = run_batch_norm(x.to(torch::kDouble), w.to(torch::kDouble), true);
      const auto got = run_batch_norm(x, w, false);
      const double tol = 1e-5;
      EXPECT_LT(max_relative_error(got.y, ref.y), tol) << what;
      EXPECT_LT(max_relative_error(got.grad, ref.grad), tol) << what;
      EXPECT_LT(max_relative_error(got.mean, ref.mean), 1e-6) << what;
      EXPECT_LT(max_relative_error(got.var, ref.var), 1e-5) << what;
      EXPECT_EQ(got.y.strides(), x.strides()) << what;
      EXPECT_EQ(got.grad.strides(), x.strides()) << what;
      if (k.offset > 0) continue;  // bf16 cannot hold the offset data's spread

      const auto xb = x.to(torch::kBFloat16);
      const auto fp32 = run_batch_norm(xb.to(torch::kFloat), w, true);
      const auto mine = run_batch_norm(xb, w, false), theirs = run_batch_norm(xb, w, true);
      EXPECT_EQ(mine.y.scalar_type(), torch::kBFloat16) << what;
      const auto err = [&](const NormRun& r) {
        return std::pair{(r.y.to(torch::kFloat) - fp32.y).abs().max().item<double>(),
                         (r.grad.to(torch::kFloat) - fp32.grad).abs().max().item<double>()};
      };
      const auto [my_y, my_g] = err(mine);
      const auto [their_y, their_g] = err(theirs);
      EXPECT_LE(my_y, 1.5 * their_y + 1e-6) << what;
      EXPECT_LE(my_g, 1.5 * their_g + 1e-6) << what;
      EXPECT_LT(max_relative_error(mine.var, fp32.var), 1e-5) << what;
    }
  });
}

TEST_F(BatchNorm, SecondDerivativeEqualsLibTorchs) {
  const auto x = cl_copy(torch::randn({4, 16, 3, 3}) * 2 + 1);
  const auto w = torch::randn(x.sizes()), v = torch::randn(x.sizes());
  auto mean = torch::zeros({16}), var = torch::ones({16});
  const auto mine = second_derivative_of(
      [&](const torch::Tensor& t) { return batch_norm_training(t, mean, var, 0.01, 1e-3); }, x, w, v);
  const auto theirs = second_derivative_of(
      [&](const torch::Tensor& t) {
        return torch::batch_norm(t, {}, {}, mean, var, true, 0.01, 1e-3, false);
      },
      x, w, v);
  EXPECT_LT(max_relative_error(mine, theirs), 1e-5);
}

TEST_F(BatchNorm, IsDeterministicAcrossThreadCounts) {
  const auto x = cl_copy(torch::randn({16, 40, 16, 16}).to(torch::kBFloat16));
  const auto w = torch::randn(x.sizes());
  const auto [one, two] = on_one_and_two_threads([&] { return run_batch_norm(x, w, false); });
  EXPECT_TRUE(torch::equal(one.y, two.y));
  EXPECT_TRUE(torch::equal(one.grad, two.grad));
  EXPECT_TRUE(torch::equal(one.var, two.var));
}

// A residual block in training mode takes the kernels with channels-last input and LibTorch's
// BatchNorm2d without: the same output, gradients, running statistics and batch count.
TEST_F(BatchNorm, ResidualBlockTrainsAsWithLibTorchsNorm) {
  ResidualBlock fused(24, 32, NormKind::Batch, 8, 0.0), plain(24, 32, NormKind::Batch, 8, 0.0);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < fused->parameters().size(); ++i)
      plain->parameters()[i].copy_(fused->parameters()[i]);
  }
  const auto x = torch::randn({6, 24, 8, 8}) * 2 + 1;
  auto a = cl_copy(x).set_requires_grad(true), b = x.clone().set_requires_grad(true);
  ASSERT_TRUE(batch_norm_kernel_applies(a));
  ASSERT_FALSE(batch_norm_kernel_applies(b));
  const auto w = torch::randn({6, 32, 8, 8});
  for (int step = 0; step < 2; ++step) {
    (fused->forward(a) * w).sum().backward();
    (plain->forward(b) * w).sum().backward();
  }
  EXPECT_LT(max_relative_error(a.grad(), b.grad()), 1e-5);
  const auto fb = fused->named_buffers(), pb = plain->named_buffers();
  for (const auto& item : fb) {
    const auto& other = pb[item.key()];
    if (item.value().is_floating_point())
      EXPECT_LT(max_relative_error(item.value(), other), 1e-5) << item.key();
    else
      EXPECT_TRUE(torch::equal(item.value(), other)) << item.key();
  }
  EXPECT_EQ(fb["norm.num_batches_tracked"].item<int64_t>(), 2);
  const auto fp = fused->named_parameters(), pp = plain->named_parameters();
  for (const auto& item : fp)
    EXPECT_LT(max_relative_error(item.value().grad(), pp[item.key()].grad()), 1e-5) << item.key();
}

class GroupNorm : public SeededTest {};

namespace {

// GroupNorm(x) scale + shift through LibTorch, in double.
torch::Tensor reference_group_norm(const torch::Tensor& x, int64_t groups, const torch::Tensor& scale,
                                   const torch::Tensor& shift) {
  const int64_t b = x.size(0), c = x.size(1);
  auto y = torch::group_norm(x.to(torch::kDouble), groups, {}, {}, 1e-5);
  if (scale.defined()) y = y * scale.to(torch::kDouble).view({b, c, 1, 1});
  if (shift.defined()) y = y + shift.to(torch::kDouble).view({b, c, 1, 1});
  return y;
}

}  // namespace

// fp32 within 1e-5 of LibTorch's norm and modulation, with and without a scale and a shift, on
// channel counts with and without a vector tail, one-pixel images, and data whose mean is far
// larger than its spread; bf16 within one bf16 step of the same computed from the bf16 input.
TEST_F(GroupNorm, EqualsLibTorchsNormAndModulation) {
  for_each_simd_level([](const std::string& level) {
    struct Case {
      int64_t b, c, groups, h, w;
      double offset;
    };
    for (const auto& k : {Case{4, 32, 8, 8, 8, 0}, Case{3, 40, 8, 5, 7, 0}, Case{2, 24, 4, 1, 1, 0},
                          Case{2, 64, 32, 16, 16, 0}, Case{3, 48, 6, 6, 6, 1000}}) {
      const auto what = fmt::format("{}, {}x{}x{}x{} in {} groups, offset {}", level, k.b, k.c, k.h, k.w,
                                    k.groups, k.offset);
      const auto x = cl_copy(torch::randn({k.b, k.c, k.h, k.w}) * torch::rand({k.b, k.c, 1, 1}) * 3 +
                             torch::randn({k.b, k.c, 1, 1}) + k.offset);
      ASSERT_TRUE(group_norm_kernel_applies(x)) << what;
      const auto scale = torch::randn({k.b, k.c}) + 1, shift = torch::randn({k.b, k.c});
      for (const auto& [s, t] :
           {std::pair{scale, shift}, std::pair{scale, torch::Tensor()}, std::pair{torch::Tensor(), shift},
            std::pair{torch::Tensor(), torch::Tensor()}}) {
        const auto ref = reference_group_norm(x, k.groups, s, t);
        const auto y = modulated_group_norm(x, k.groups, 1e-5, s, t);
        EXPECT_LT(max_relative_error(y, ref), 1e-5)
            << what << (s.defined() ? " scaled" : "") << (t.defined() ? " shifted" : "");
        EXPECT_EQ(y.strides(), x.strides()) << what;
      }
      if (k.offset > 0) continue;  // bf16 cannot hold the offset data's spread
      const auto xb = x.to(torch::kBFloat16);
      const auto yb = modulated_group_norm(xb, k.groups, 1e-5, scale, shift);
      EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
      const auto ref = reference_group_norm(xb, k.groups, scale, shift);
      EXPECT_LE((yb.to(torch::kDouble) - ref).abs().max().item<double>(),
                ref.abs().max().item<double>() / 128)
          << what;
    }
  });
}

TEST_F(GroupNorm, IsDeterministicAcrossThreadCounts) {
  const auto x = cl_copy(torch::randn({6, 64, 16, 16}));
  const auto scale = torch::randn({6, 64}), shift = torch::randn({6, 64});
  const auto [one, two] =
      on_one_and_two_threads([&] { return modulated_group_norm(x, 8, 1e-5, scale, shift); });
  EXPECT_TRUE(torch::equal(one, two));
}

TEST_F(GroupNorm, RefusesWhatDoesNotFit) {
  const auto x = cl_copy(torch::randn({2, 12, 4, 4}));
  EXPECT_THROW(modulated_group_norm(x, 5, 1e-5, {}, {}), InvalidArgument);
  EXPECT_THROW(modulated_group_norm(x, 4, 1e-5, torch::ones({2, 11}), {}), InvalidArgument);
  EXPECT_THROW(modulated_group_norm(x, 4, 1e-5, {}, torch::ones({12})), InvalidArgument);
  // NCHW input: LibTorch's operations, the same result to rounding.
  const auto nchw = x.contiguous();
  EXPECT_FALSE(group_norm_kernel_applies(nchw));
  EXPECT_LT(
      max_relative_error(modulated_group_norm(nchw, 4, 1e-5, {}, {}), reference_group_norm(x, 4, {}, {})),
      1e-5);
}

// The no-grad passes of the group-norm U-Nets (Diff-AE's decoder: a semantic condition; a
// class-conditional denoiser; a plain group-norm U-Net with attention, like the semantic encoder's
// blocks) take the folded modulation, Winograd's convolutions (with their swish and residual add)
// where the layers are large enough and LibTorch's where not: within 1e-5 of the plain path, and
// under bf16 autocast within the plain bf16 path's own error. With gradients the plain path runs,
// bit for bit.
TEST_F(GroupNorm, ConditionedUNetsNoGradPassEqualsThePlainOne) {
  struct Case {
    const char* what;
    int64_t cond_dim, classes;
    std::vector<int64_t> attention;
  };
  for (const auto& k : {Case{"semantic condition", 16, 0, {}}, Case{"class-conditional", 8, 3, {}},
                        Case{"group norm and attention", 0, 0, {8}}}) {
    UNetOptions o;
    o.widths = {16, 32, 48};
    o.block_depth = 1;
    o.embedding_dims = 16;
    o.image_size = 16;
    o.norm = NormKind::Group;
    o.cond_dim = k.cond_dim;
    o.classes = k.classes;
    o.attention_resolutions = k.attention;
    UNet net(o);
    randomise_weights_and_statistics(net);
    net.eval();
    for (const int64_t batch : {8, 1}) {
      const auto what = fmt::format("{}, batch {}", k.what, batch);
      const auto x = torch::randn({batch, 1, 16, 16});
      const auto v = torch::rand({batch});
      const auto cond = k.classes > 0    ? class_condition(torch::randint(0, k.classes, {batch}), k.classes)
                        : k.cond_dim > 0 ? torch::randn({batch, k.cond_dim})
                                         : torch::Tensor();
      torch::Tensor fast, slow;
      {
        torch::NoGradGuard no_grad;
        fast = net.forward(x, v, cond);
        set_norm_folding(net, false);
        slow = net.forward(x, v, cond);
        set_norm_folding(net, true);
      }
      EXPECT_LT(max_relative_error(fast, slow), 1e-5) << what;
      EXPECT_GT(max_relative_error(fast, slow), 0) << what << ": the same bits: the kernels did not run";
      // Under bf16 autocast: within 1.5 times the plain bf16 path's own error against fp32.
      torch::Tensor fast16, slow16;
      {
        torch::NoGradGuard no_grad;
        AutocastGuard autocast(torch::kCPU, true);
        set_norm_folding(net, false);
        slow16 = net.forward(x, v, cond).to(torch::kFloat);
        set_norm_folding(net, true);
        fast16 = net.forward(x, v, cond).to(torch::kFloat);
      }
      // (An unmodulated norm can give the plain path's bits: both round the same fp32 norm to bf16.)
      EXPECT_LE(max_relative_error(fast16, slow), 1.5 * max_relative_error(slow16, slow) + 1e-4) << what;
      const auto with_grad = net.forward(x.clone().set_requires_grad(true), v, cond);
      set_norm_folding(net, false);
      EXPECT_TRUE(torch::equal(with_grad, net.forward(x.clone().set_requires_grad(true), v, cond))) << what;
      set_norm_folding(net, true);
    }
  }
}
