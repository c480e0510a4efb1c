// The per-channel passes of ddim's normalisation kernels (nn/batch_norm.h, nn/group_norm.h) on
// channels-last data, read as rows of C channels: the channels' sums, and the normalisation. A
// private header (see simd.h).
#pragma once

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

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

// y = (x - mean) a + t, with x - mean as (x - k) - d: the first difference is exact for x near k,
// and the mean's own rounding (large next to the spread when the mean is large) never enters.
template <int W, typename T>
DDIM_INLINE void normalize_block(const T* x, T* y, const float* k, const float* d, const float* a,
                                 const float* t, Rows g, int64_t r0, int64_t r1) {
  const int64_t cv = g.c - g.c % W;
  for (int64_t r = r0; r < r1; ++r) {
    const T* row = x + r * g.c;
    T* out = y + r * g.c;
    int64_t j = 0;
    for (; j < cv; j += W)
      store<W>(out + j,
               ((load<W>(row + j) - load<W>(k + j)) - load<W>(d + j)) * load<W>(a + j) + load<W>(t + j));
    for (; j < g.c; ++j) from_float(out + j, ((to_float(row[j]) - k[j]) - d[j]) * a[j] + t[j]);
  }
}

DDIM_BOTH_LEVELS(stats_block,
                 (const T* x, const float* k, Rows g, int64_t r0, int64_t r1, float* s1, float* s2),
                 (x, k, g, r0, r1, s1, s2))
DDIM_BOTH_LEVELS(normalize_block,
                 (const T* x, T* y, const float* k, const float* d, const float* a, const float* t, Rows g,
                  int64_t r0, int64_t r1),
                 (x, y, k, d, a, t, g, r0, r1))

// The per-channel sums of block_sums(e, r0, r1, s1, s2) over the rows of each of `examples`
// examples of g.rows rows (rows r0..r1 of example e), in double, [examples * C] each: each block of
// kRows rows sums into fp32 on some thread, and each example's blocks are added in order.
template <typename F>
std::pair<std::vector<double>, std::vector<double>> channel_sums(int64_t examples, Rows g,
                                                                 const F& block_sums) {
  const int64_t blocks = (g.rows + kRows - 1) / kRows;
  std::vector<float> partial(static_cast<size_t>(2 * examples * blocks * g.c), 0.f);
  at::parallel_for(0, examples * blocks, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i % blocks;
      float* s1 = partial.data() + 2 * i * g.c;
      block_sums(i / blocks, b * kRows, std::min(g.rows, (b + 1) * kRows), s1, s1 + g.c);
    }
  });
  std::vector<double> t1(static_cast<size_t>(examples * g.c), 0.0), t2(t1);
  for (int64_t e = 0; e < examples; ++e)
    for (int64_t b = 0; b < blocks; ++b) {
      const float* s1 = partial.data() + 2 * (e * blocks + b) * g.c;
      for (int64_t j = 0; j < g.c; ++j) {
        t1[e * g.c + j] += s1[j];
        t2[e * g.c + j] += s1[g.c + j];
      }
    }
  return {t1, t2};
}

}  // namespace
}  // namespace ddim
