#include "ddim/nn/group_norm.h"

#include <ATen/record_function.h>

#include <cmath>

#include "channel_kernels.h"
#include "ddim/core/error.h"

namespace ddim {

namespace {

template <typename T>
torch::Tensor kernel(const torch::Tensor& x, int64_t groups, double eps, const torch::Tensor& scale,
                     const torch::Tensor& shift) {
  RECORD_FUNCTION("ddim::group_norm", std::vector<c10::IValue>({x}));  // seen by ddim bench --profile
  const int64_t batch = x.size(0), c = x.size(1), per = c / groups;
  const Rows g{x.size(2) * x.size(3), c};
  const bool avx512 = wide();
  const T* px = data<T>(x);
  // Per example and channel: the shift k, d = mean - k, the scale a / sqrt(var + eps), the shift.
  std::vector<float> k(static_cast<size_t>(batch * c)), d(k), a(k), t(k);
  for (int64_t e = 0; e < batch; ++e)
    for (int64_t j = 0; j < c; ++j) k[e * c + j] = to_float(px[e * g.rows * c + j]);
  const auto [s1, s2] = channel_sums(batch, g, [&](int64_t e, int64_t r0, int64_t r1, float* u, float* v) {
    const T* xe = px + e * g.rows * c;
    const float* ke = k.data() + e * c;
    avx512 ? stats_block_avx512<T>(xe, ke, g, r0, r1, u, v) : stats_block_avx2<T>(xe, ke, g, r0, r1, u, v);
  });
  const auto sc = scale.defined() ? scale.to(torch::kFloat).contiguous() : torch::Tensor();
  const auto sh = shift.defined() ? shift.to(torch::kFloat).contiguous() : torch::Tensor();
  const double n = static_cast<double>(g.rows);
  for (int64_t e = 0; e < batch; ++e)
    for (int64_t q = 0; q < groups; ++q) {
      // The group's mean and variance from its channels': var_g = mean(var_c + (mean_c - mean_g)^2).
      const int64_t j0 = e * c + q * per;
      double mean = 0, var = 0;
      for (int64_t j = j0; j < j0 + per; ++j) mean += k[j] + s1[j] / n;
      mean /= static_cast<double>(per);
      for (int64_t j = j0; j < j0 + per; ++j) {
        const double m = s1[j] / n, dev = k[j] + m - mean;
        var += std::max(0.0, s2[j] / n - m * m) + dev * dev;
      }
      const double inv = 1.0 / std::sqrt(var / static_cast<double>(per) + eps);
      for (int64_t j = j0; j < j0 + per; ++j) {
        d[j] = static_cast<float>(mean - k[j]);
        a[j] = static_cast<float>(inv * (sc.defined() ? sc.data_ptr<float>()[j] : 1.f));
        t[j] = sh.defined() ? sh.data_ptr<float>()[j] : 0.f;
      }
    }
  auto y = torch::empty_like(x);
  T* py = data<T>(y);
  const int64_t blocks = (g.rows + kRows - 1) / kRows;
  at::parallel_for(0, batch * blocks, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t e = i / blocks, r0 = (i % blocks) * kRows, r1 = std::min(g.rows, r0 + kRows);
      const int64_t o = e * g.rows * c;
      const float *ke = k.data() + e * c, *de = d.data() + e * c, *ae = a.data() + e * c,
                  *te = t.data() + e * c;
      avx512 ? normalize_block_avx512<T>(px + o, py + o, ke, de, ae, te, g, r0, r1)
             : normalize_block_avx2<T>(px + o, py + o, ke, de, ae, te, g, r0, r1);
    }
  });
  return y;
}

}  // namespace

bool group_norm_kernel_applies(const torch::Tensor& x) {
  return simd_kernels_take(x) && x.dim() == 4 && x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
         x.numel() > 0;
}

torch::Tensor modulated_group_norm(const torch::Tensor& x, int64_t groups, double eps,
                                   const torch::Tensor& scale, const torch::Tensor& shift) {
  DDIM_CHECK_ARG(x.dim() == 4 && groups > 0 && x.size(1) % groups == 0,
                 "group norm: {} channels are not a multiple of {} groups", x.dim() == 4 ? x.size(1) : -1,
                 groups);
  for (const auto* p : {&scale, &shift})
    DDIM_CHECK_ARG(!p->defined() || p->sizes() == torch::IntArrayRef({x.size(0), x.size(1)}),
                   "group norm: a scale or shift of {} for an input of {}", fmt::join(p->sizes(), "x"),
                   fmt::join(x.sizes(), "x"));
  torch::NoGradGuard no_grad;
  if (!group_norm_kernel_applies(x)) {
    auto y = torch::group_norm(x, groups, {}, {}, eps);
    if (scale.defined()) y = y * scale.view({x.size(0), x.size(1), 1, 1}).to(y.scalar_type());
    if (shift.defined()) y = y + shift.view({x.size(0), x.size(1), 1, 1}).to(y.scalar_type());
    return y;
  }
  return x.scalar_type() == torch::kFloat ? kernel<float>(x, groups, eps, scale, shift)
                                          : kernel<uint16_t>(x, groups, eps, scale, shift);
}

}  // namespace ddim
