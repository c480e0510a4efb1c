#include "ddim/nn/batch_norm.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ddim/nn/winograd.h"
#include "simd.h"

namespace ddim {

namespace {

// Pixels (rows of C channels) per block of the reductions: fixed, so that the sums do not depend
// on the number of threads; small enough that a block's fp32 partial sums stay accurate.
constexpr int64_t kRows = 128;

// The data as rows of channels: x[r * c + j], channel j of pixel r.
struct Rows {
  int64_t rows, c;
};

// Per-channel sums over rows [r0, r1) of f(j, x_j...) into two accumulators, vectors of W
// channels at a time and then the scalar tail of the channels.
template <int W, typename T>
DDIM_INLINE void stats_block(const T* x, const float* k, Rows g, int64_t r0, int64_t r1, float* s1,
                             float* s2) {
  const int64_t cv = g.c - g.c % W;
  for (int64_t r = r0; r < r1; ++r) {
    const T* row = x + r * g.c;
    int64_t j = 0;
    for (; j < cv; j += W) {
      const auto d = load<W>(row + j) - load<W>(k + j);
      store<W>(s1 + j, load<W>(s1 + j) + d);
      store<W>(s2 + j, load<W>(s2 + j) + d * d);
    }
    for (; j < g.c; ++j) {
      const float d = to_float(row[j]) - k[j];
      s1[j] += d;
      s2[j] += d * d;
    }
  }
}

// The backward pass's sums: of dy, and of dy (x - mean).
template <int W, typename T>
DDIM_INLINE void grad_stats_block(const T* x, const T* dy, const float* k, const float* d, Rows g, int64_t r0,
                                  int64_t r1, float* s1, float* s2) {
  const int64_t cv = g.c - g.c % W;
  for (int64_t r = r0; r < r1; ++r) {
    const T *row = x + r * g.c, *grow = dy + r * g.c;
    int64_t j = 0;
    for (; j < cv; j += W) {
      const auto e = load<W>(grow + j);
      store<W>(s1 + j, load<W>(s1 + j) + e);
      store<W>(s2 + j, load<W>(s2 + j) + e * ((load<W>(row + j) - load<W>(k + j)) - load<W>(d + j)));
    }
    for (; j < g.c; ++j) {
      const float e = to_float(grow[j]);
      s1[j] += e;
      s2[j] += e * ((to_float(row[j]) - k[j]) - d[j]);
    }
  }
}

// y = (x - mean) a, with x - mean as (x - k) - d: the first difference is exact for x near k, and
// the mean's own rounding (large next to the spread when the mean is large) never enters.
template <int W, typename T>
DDIM_INLINE void normalize_block(const T* x, T* y, const float* k, const float* d, const float* a, Rows g,
                                 int64_t r0, int64_t r1) {
  const int64_t cv = g.c - g.c % W;
  for (int64_t r = r0; r < r1; ++r) {
    const T* row = x + r * g.c;
    T* out = y + r * g.c;
    int64_t j = 0;
    for (; j < cv; j += W)
      store<W>(out + j, ((load<W>(row + j) - load<W>(k + j)) - load<W>(d + j)) * load<W>(a + j));
    for (; j < g.c; ++j) from_float(out + j, ((to_float(row[j]) - k[j]) - d[j]) * a[j]);
  }
}

// dx = a (dy - mdy) - b (x - mean), with b = a^3 mean(dy (x - mean)).
template <int W, typename T>
DDIM_INLINE void grad_block(const T* x, const T* dy, T* dx, const float* k, const float* d, const float* a,
                            const float* mdy, const float* b, Rows g, int64_t r0, int64_t r1) {
  const int64_t cv = g.c - g.c % W;
  for (int64_t r = r0; r < r1; ++r) {
    const T *row = x + r * g.c, *grow = dy + r * g.c;
    T* out = dx + r * g.c;
    int64_t j = 0;
    for (; j < cv; j += W)
      store<W>(out + j, load<W>(a + j) * (load<W>(grow + j) - load<W>(mdy + j)) -
                            load<W>(b + j) * ((load<W>(row + j) - load<W>(k + j)) - load<W>(d + j)));
    for (; j < g.c; ++j)
      from_float(out + j, a[j] * (to_float(grow[j]) - mdy[j]) - b[j] * ((to_float(row[j]) - k[j]) - d[j]));
  }
}

#define DDIM_BOTH_LEVELS(name, params, args)                         \
  template <typename T>                                              \
  __attribute__((target("avx512f,fma"))) void name##_avx512 params { \
    name<16, T> args;                                                \
  }                                                                  \
  template <typename T>                                              \
  __attribute__((target("avx2,fma"))) void name##_avx2 params {      \
    name<8, T> args;                                                 \
  }

DDIM_BOTH_LEVELS(stats_block,
                 (const T* x, const float* k, Rows g, int64_t r0, int64_t r1, float* s1, float* s2),
                 (x, k, g, r0, r1, s1, s2))
DDIM_BOTH_LEVELS(grad_stats_block,
                 (const T* x, const T* dy, const float* k, const float* d, Rows g, int64_t r0, int64_t r1,
                  float* s1, float* s2),
                 (x, dy, k, d, g, r0, r1, s1, s2))
DDIM_BOTH_LEVELS(normalize_block,
                 (const T* x, T* y, const float* k, const float* d, const float* a, Rows g, int64_t r0,
                  int64_t r1),
                 (x, y, k, d, a, g, r0, r1))
DDIM_BOTH_LEVELS(grad_block,
                 (const T* x, const T* dy, T* dx, const float* k, const float* d, const float* a,
                  const float* mdy, const float* b, Rows g, int64_t r0, int64_t r1),
                 (x, dy, dx, k, d, a, mdy, b, g, r0, r1))
#undef DDIM_BOTH_LEVELS

// AVX-512 when the CPU runs it, asked each time: ATEN_CPU_CAPABILITY=avx2 in the environment
// selects the AVX2 kernels (the tests' way).
bool wide() { return winograd_simd_levels().front() == SimdLevel::Avx512; }

template <typename T>
T* data(const torch::Tensor& t) {
  return reinterpret_cast<T*>(t.data_ptr());
}

Rows rows_of(const torch::Tensor& x) { return {x.numel() / x.size(1), x.size(1)}; }

// The per-channel sums of block_sums(r0, r1, s1, s2) over all rows, in double: each block of kRows
// rows sums into fp32 on some thread, and the blocks are added in order.
template <typename F>
std::pair<std::vector<double>, std::vector<double>> channel_sums(Rows g, const F& block_sums) {
  const int64_t blocks = (g.rows + kRows - 1) / kRows;
  std::vector<float> partial(static_cast<size_t>(2 * blocks * g.c), 0.f);
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      float* s1 = partial.data() + 2 * b * g.c;
      block_sums(b * kRows, std::min(g.rows, (b + 1) * kRows), s1, s1 + g.c);
    }
  });
  std::vector<double> t1(static_cast<size_t>(g.c), 0.0), t2(static_cast<size_t>(g.c), 0.0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t j = 0; j < g.c; ++j) {
      t1[j] += partial[2 * b * g.c + j];
      t2[j] += partial[(2 * b + 1) * g.c + j];
    }
  return {t1, t2};
}

template <typename F>
void over_rows(Rows g, const F& f) {
  at::parallel_for(0, g.rows, kRows, [&](int64_t r0, int64_t r1) { f(r0, r1); });
}

// The batch's statistics as the backward pass wants them, fp32 [3, C]: the shift k, the mean's
// offset from it d (mean = k + d), and a = 1 / sqrt(var + eps).
struct Centre {
  torch::Tensor t;
  const float* k() const { return t.data_ptr<float>(); }
  const float* d() const { return k() + t.size(1); }
  const float* a() const { return k() + 2 * t.size(1); }
};

// y, and the statistics for the backward pass; updates the running statistics.
template <typename T>
std::pair<torch::Tensor, Centre> forward_kernel(const torch::Tensor& x, const torch::Tensor& running_mean,
                                                const torch::Tensor& running_var, double momentum,
                                                double eps) {
  RECORD_FUNCTION("ddim::batch_norm", std::vector<c10::IValue>({x}));  // seen by ddim bench --profile
  const Rows g = rows_of(x);
  const bool avx512 = wide();
  const T* px = data<T>(x);
  Centre c{torch::empty({3, g.c}, torch::kFloat)};
  float* k = c.t.data_ptr<float>();
  for (int64_t j = 0; j < g.c; ++j) k[j] = to_float(px[j]);
  const auto [s1, s2] = channel_sums(g, [&](int64_t r0, int64_t r1, float* u, float* v) {
    avx512 ? stats_block_avx512<T>(px, k, g, r0, r1, u, v) : stats_block_avx2<T>(px, k, g, r0, r1, u, v);
  });
  auto mean = torch::empty({g.c}, torch::kFloat), var = torch::empty({g.c}, torch::kFloat);
  const double n = static_cast<double>(g.rows);
  for (int64_t j = 0; j < g.c; ++j) {
    const double d = s1[j] / n, v = std::max(0.0, s2[j] / n - d * d);
    k[g.c + j] = static_cast<float>(d);
    k[2 * g.c + j] = static_cast<float>(1.0 / std::sqrt(v + eps));
    mean.data_ptr<float>()[j] = static_cast<float>(k[j] + d);
    var.data_ptr<float>()[j] = static_cast<float>(v * n / (n - 1));
  }
  auto y = torch::empty_like(x);
  T* py = data<T>(y);
  over_rows(g, [&](int64_t r0, int64_t r1) {
    avx512 ? normalize_block_avx512<T>(px, py, c.k(), c.d(), c.a(), g, r0, r1)
           : normalize_block_avx2<T>(px, py, c.k(), c.d(), c.a(), g, r0, r1);
  });
  {
    torch::NoGradGuard no_grad;
    running_mean.mul_(1 - momentum).add_(mean.to(running_mean.device()), momentum);
    running_var.mul_(1 - momentum).add_(var.to(running_var.device()), momentum);
  }
  return {y, c};
}

template <typename T>
torch::Tensor backward_kernel(const torch::Tensor& x, const torch::Tensor& dy, const Centre& c) {
  RECORD_FUNCTION("ddim::batch_norm_backward", std::vector<c10::IValue>({x, dy}));
  const Rows g = rows_of(x);
  const bool avx512 = wide();
  const T *px = data<T>(x), *pdy = data<T>(dy);
  const auto [s1, s2] = channel_sums(g, [&](int64_t r0, int64_t r1, float* u, float* v) {
    avx512 ? grad_stats_block_avx512<T>(px, pdy, c.k(), c.d(), g, r0, r1, u, v)
           : grad_stats_block_avx2<T>(px, pdy, c.k(), c.d(), g, r0, r1, u, v);
  });
  std::vector<float> mdy(static_cast<size_t>(g.c)), b(static_cast<size_t>(g.c));
  const double n = static_cast<double>(g.rows);
  const float* a = c.a();
  for (int64_t j = 0; j < g.c; ++j) {
    mdy[j] = static_cast<float>(s1[j] / n);
    b[j] = static_cast<float>(double(a[j]) * a[j] * a[j] * s2[j] / n);
  }
  auto dx = torch::empty_like(x);
  T* pdx = data<T>(dx);
  over_rows(g, [&](int64_t r0, int64_t r1) {
    avx512 ? grad_block_avx512<T>(px, pdy, pdx, c.k(), c.d(), a, mdy.data(), b.data(), g, r0, r1)
           : grad_block_avx2<T>(px, pdy, pdx, c.k(), c.d(), a, mdy.data(), b.data(), g, r0, r1);
  });
  return dx;
}

// The same derivative through LibTorch's operations, differentiable (for a second derivative).
torch::Tensor differentiable_backward(const torch::Tensor& x, const torch::Tensor& dy, double eps) {
  const std::vector<int64_t> dims = {0, 2, 3};
  const auto xf = x.to(torch::kFloat), g = dy.to(torch::kFloat);
  const auto mu = xf.mean(dims, true);
  const auto a = torch::rsqrt(xf.var(dims, /*unbiased=*/false, true) + eps);
  const auto xhat = (xf - mu) * a;
  return (a * (g - g.mean(dims, true) - xhat * (g * xhat).mean(dims, true))).to(x.scalar_type());
}

struct BatchNormFunction : torch::autograd::Function<BatchNormFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               double momentum, double eps) {
    auto [y, centre] = x.scalar_type() == torch::kFloat
                           ? forward_kernel<float>(x, running_mean, running_var, momentum, eps)
                           : forward_kernel<uint16_t>(x, running_mean, running_var, momentum, eps);
    ctx->save_for_backward({x, centre.t});
    ctx->saved_data["eps"] = eps;
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    torch::Tensor dx;
    if (torch::GradMode::is_enabled()) {
      dx = differentiable_backward(x, grads[0], ctx->saved_data["eps"].toDouble());
    } else {
      const auto dy = grads[0].to(x.scalar_type()).contiguous(torch::MemoryFormat::ChannelsLast);
      const Centre centre{saved[1]};
      dx = x.scalar_type() == torch::kFloat ? backward_kernel<float>(x, dy, centre)
                                            : backward_kernel<uint16_t>(x, dy, centre);
    }
    return {dx, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool batch_norm_kernel_applies(const torch::Tensor& x) {
  return !winograd_simd_levels().empty() && x.defined() && x.device().is_cpu() && x.dim() == 4 &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16) &&
         x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
         x.numel() / std::max<int64_t>(1, x.size(1)) > 1;
}

torch::Tensor batch_norm_training(const torch::Tensor& x, const torch::Tensor& running_mean,
                                  const torch::Tensor& running_var, double momentum, double eps) {
  if (!batch_norm_kernel_applies(x) || !running_mean.defined() ||
      running_mean.scalar_type() != torch::kFloat || !running_var.defined() ||
      running_var.scalar_type() != torch::kFloat)
    return torch::batch_norm(x, {}, {}, running_mean, running_var, /*training=*/true, momentum, eps,
                             /*cudnn_enabled=*/false);
  return BatchNormFunction::apply(x, running_mean, running_var, momentum, eps);
}

}  // namespace ddim
