#include "ddim/nn/batch_norm.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "channel_kernels.h"

namespace ddim {

namespace {

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

DDIM_BOTH_LEVELS(grad_stats_block,
                 (const T* x, const T* dy, const float* k, const float* d, Rows g, int64_t r0, int64_t r1,
                  float* s1, float* s2),
                 (x, dy, k, d, g, r0, r1, s1, s2))
DDIM_BOTH_LEVELS(grad_block,
                 (const T* x, const T* dy, T* dx, const float* k, const float* d, const float* a,
                  const float* mdy, const float* b, Rows g, int64_t r0, int64_t r1),
                 (x, dy, dx, k, d, a, mdy, b, g, r0, r1))

Rows rows_of(const torch::Tensor& x) { return {x.numel() / x.size(1), x.size(1)}; }

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
  const auto [s1, s2] = channel_sums(1, g, [&](int64_t, int64_t r0, int64_t r1, float* u, float* v) {
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
  const std::vector<float> zero(static_cast<size_t>(g.c), 0.f);
  over_rows(g, [&](int64_t r0, int64_t r1) {
    avx512 ? normalize_block_avx512<T>(px, py, c.k(), c.d(), c.a(), zero.data(), g, r0, r1)
           : normalize_block_avx2<T>(px, py, c.k(), c.d(), c.a(), zero.data(), g, r0, r1);
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
  const auto [s1, s2] = channel_sums(1, g, [&](int64_t, int64_t r0, int64_t r1, float* u, float* v) {
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
  return simd_kernels_take(x) && x.dim() == 4 && x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
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
