#include "ddim/nn/winograd.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "simd.h"

namespace ddim {

namespace {

// Where the tiles are: tile t is image t / (th tw), output rows 2 ty, 2 ty + 1 and columns
// 2 tx, 2 tx + 1, read from input rows 2 ty - 1 .. 2 ty + 2 (zero outside the image).
struct Geometry {
  const float* src;
  float* dst;
  const float* grad;  // the weights' gradient: the output's gradient, [B, H, W, out]
  const float* u;     // [16, in, out]
  const float* bias;  // [out]
  int64_t h, w, th, tw, in, out;
  WinogradConvolution::Epilogue epilogue;
  int64_t tiles, block;   // tiles in all, and per block (a multiple of kRows)
  int64_t groups, group;  // output channels: groups of `group` (a multiple of W)
};

constexpr int64_t kRows = 6;  // tiles per micro-kernel call

// B^T d B for one group of W channels of one tile: d the 4x4 inputs, v the 16 outputs, each
// `plane` floats apart (Lavin & Gray's B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]).
template <int W>
DDIM_INLINE void input_tile(const float* const (&p)[4][4], int64_t c, float* v, int64_t plane) {
  using V = Vec<W>;
  V t[4][4];
#pragma GCC unroll 4
  for (int x = 0; x < 4; ++x) {
    const V d0 = load<W>(p[0][x] + c), d1 = load<W>(p[1][x] + c), d2 = load<W>(p[2][x] + c),
            d3 = load<W>(p[3][x] + c);
    t[0][x] = d0 - d2;
    t[1][x] = d1 + d2;
    t[2][x] = d2 - d1;
    t[3][x] = d1 - d3;
  }
#pragma GCC unroll 4
  for (int y = 0; y < 4; ++y) {
    store<W>(v + (4 * y + 0) * plane + c, t[y][0] - t[y][2]);
    store<W>(v + (4 * y + 1) * plane + c, t[y][1] + t[y][2]);
    store<W>(v + (4 * y + 2) * plane + c, t[y][2] - t[y][1]);
    store<W>(v + (4 * y + 3) * plane + c, t[y][1] - t[y][3]);
  }
}

// The transformed inputs of tiles [t0, t0 + count) into v [16][rows][in], rows = count rounded
// up to kRows (the extra rows zero).
template <int W>
DDIM_INLINE void transform_input(const Geometry& g, int64_t t0, int64_t count, int64_t rows, float* v,
                                 const float* zeros) {
  const int64_t c_in = g.in, plane = rows * c_in, per_image = g.th * g.tw;
  for (int64_t i = 0; i < rows; ++i) {
    float* out = v + i * c_in;
    if (i >= count) {
      for (int k = 0; k < 16; ++k) std::memset(out + k * plane, 0, sizeof(float) * c_in);
      continue;
    }
    const int64_t t = t0 + i, b = t / per_image, ty = t % per_image / g.tw, tx = t % g.tw;
    const float* p[4][4];
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        const int64_t iy = 2 * ty - 1 + y, ix = 2 * tx - 1 + x;
        p[y][x] =
            iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? g.src + ((b * g.h + iy) * g.w + ix) * c_in : zeros;
      }
    int64_t c = 0;
    for (; c + W <= c_in; c += W) input_tile<W>(p, c, out, plane);
    for (; c < c_in; ++c) input_tile<1>(p, c, out, plane);
  }
}

// c[R][NV W] = a[R][k] b[k][NV W], or c += it with Accumulate: a's element (i, kk) at
// a[i * a_row + kk * a_step], b's and c's rows ldb and ldc apart. The R x NV accumulators stay in
// registers over all of k (12 vectors for R = 6, NV = 2): each step loads NV vectors of b and
// broadcasts R values of a. The forward product reads a by rows (a_step 1); the weights' gradient
// reads the transformed inputs by columns (a_row 1).
template <int W, int NV, int R, bool Accumulate>
DDIM_INLINE void multiply_rows(const float* a, int64_t a_row, int64_t a_step, const float* b, int64_t ldb,
                               int64_t k, float* c, int64_t ldc) {
  using V = Vec<W>;
  V acc[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) acc[i][j] = Accumulate ? load<W>(c + i * ldc + j * W) : V{};
  for (int64_t kk = 0; kk < k; ++kk) {
    V bv[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) bv[j] = load<W>(b + kk * ldb + j * W);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const V ai = splat<W>(a[i * a_row + kk * a_step]);
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) acc[i][j] += ai * bv[j];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) store<W>(c + i * ldc + j * W, acc[i][j]);
}

// m[ξ] = v[ξ] u[ξ] for the 16 positions ξ of the tile, output channels [o0, o1) (multiples of W):
// [rows, in] x [in, out].
template <int W>
DDIM_INLINE void multiply(const Geometry& g, int64_t rows, const float* v, float* m, int64_t o0, int64_t o1) {
  const int64_t c_in = g.in, c_out = g.out;
  for (int xi = 0; xi < 16; ++xi) {
    const float* a = v + xi * rows * c_in;
    const float* b = g.u + xi * c_in * c_out;
    float* c = m + xi * rows * c_out;
    int64_t o = o0;
    for (; o + 2 * W <= o1; o += 2 * W)
      for (int64_t r = 0; r < rows; r += kRows)
        multiply_rows<W, 2, kRows, false>(a + r * c_in, c_in, 1, b + o, c_out, c_in, c + r * c_out + o,
                                          c_out);
    for (; o < o1; o += W)
      for (int64_t r = 0; r < rows; r += kRows)
        multiply_rows<W, 1, kRows, false>(a + r * c_in, c_in, 1, b + o, c_out, c_in, c + r * c_out + o,
                                          c_out);
  }
}

// A^T m A + bias for tiles [t0, t0 + count) and output channels [o0, o1), then the epilogue, into
// dst (A^T = [1 1 1 0; 0 1 -1 -1]). Outputs past the image's edge (odd sizes) go to `sink`.
template <int W>
DDIM_INLINE void transform_output(const Geometry& g, int64_t t0, int64_t count, int64_t rows, const float* m,
                                  int64_t o0, int64_t o1, float* sink) {
  using V = Vec<W>;
  const int64_t c_out = g.out, plane = rows * c_out, per_image = g.th * g.tw;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t t = t0 + i, b = t / per_image, ty = t % per_image / g.tw, tx = t % g.tw;
    float* q[2][2];
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x) {
        const int64_t oy = 2 * ty + y, ox = 2 * tx + x;
        q[y][x] = oy < g.h && ox < g.w ? g.dst + ((b * g.h + oy) * g.w + ox) * c_out : sink;
      }
    const float* mi = m + i * c_out;
    for (int64_t o = o0; o < o1; o += W) {
      V s[2][4];
#pragma GCC unroll 4
      for (int x = 0; x < 4; ++x) {
        const V m0 = load<W>(mi + (0 + x) * plane + o), m1 = load<W>(mi + (4 + x) * plane + o),
                m2 = load<W>(mi + (8 + x) * plane + o), m3 = load<W>(mi + (12 + x) * plane + o);
        s[0][x] = m0 + m1 + m2;
        s[1][x] = m1 - m2 - m3;
      }
      const V bias = load<W>(g.bias + o);
#pragma GCC unroll 2
      for (int y = 0; y < 2; ++y) {
        V out[2] = {s[y][0] + s[y][1] + s[y][2] + bias, s[y][1] - s[y][2] - s[y][3] + bias};
#pragma GCC unroll 2
        for (int x = 0; x < 2; ++x) {
          float* p = q[y][x] + o;
          switch (g.epilogue) {
            case WinogradConvolution::Epilogue::None:
              store<W>(p, out[x]);
              break;
            case WinogradConvolution::Epilogue::Swish:
              store<W>(p, out[x] / (1.f + exp_of<W>(-out[x])));
              break;
            case WinogradConvolution::Epilogue::Accumulate:
              store<W>(p, load<W>(p) + out[x]);
              break;
          }
        }
      }
    }
  }
}

// The weights' gradient (Lavin & Gray's eq. 8 differentiated): with M = U ⊙ V per tile and
// Y = A^T M A, dL/dU = Σ_tiles (A dY A^T) ⊙ V, and dL/dg = G^T (dL/dU) G. Per position ξ of the
// 4x4 tile that is a matrix product [in, tiles] x [tiles, out], summed over the tiles.

// A dY A^T for tiles [t0, t0 + count) and output channels [o0, o1) into m [16][rows][out], the
// rows past `count` zero (A^T = [1 1 1 0; 0 1 -1 -1], the output transform's). Outputs past the
// image's edge (odd sizes) count as zero.
template <int W>
DDIM_INLINE void transform_grad(const Geometry& g, int64_t t0, int64_t count, int64_t rows, float* m,
                                int64_t o0, int64_t o1, const float* zeros) {
  using V = Vec<W>;
  const int64_t c_out = g.out, plane = rows * c_out, per_image = g.th * g.tw;
  for (int64_t i = 0; i < rows; ++i) {
    float* mi = m + i * c_out;
    if (i >= count) {
      for (int k = 0; k < 16; ++k) std::memset(mi + k * plane + o0, 0, sizeof(float) * (o1 - o0));
      continue;
    }
    const int64_t t = t0 + i, b = t / per_image, ty = t % per_image / g.tw, tx = t % g.tw;
    const float* q[2][2];
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x) {
        const int64_t oy = 2 * ty + y, ox = 2 * tx + x;
        q[y][x] = oy < g.h && ox < g.w ? g.grad + ((b * g.h + oy) * g.w + ox) * c_out : zeros;
      }
    for (int64_t o = o0; o < o1; o += W) {
      V r[4][2];  // A dY: rows
#pragma GCC unroll 2
      for (int x = 0; x < 2; ++x) {
        const V d0 = load<W>(q[0][x] + o), d1 = load<W>(q[1][x] + o);
        r[0][x] = d0;
        r[1][x] = d0 + d1;
        r[2][x] = d0 - d1;
        r[3][x] = -d1;
      }
#pragma GCC unroll 4
      for (int y = 0; y < 4; ++y) {  // (A dY) A^T: columns
        store<W>(mi + (4 * y + 0) * plane + o, r[y][0]);
        store<W>(mi + (4 * y + 1) * plane + o, r[y][0] + r[y][1]);
        store<W>(mi + (4 * y + 2) * plane + o, r[y][0] - r[y][1]);
        store<W>(mi + (4 * y + 3) * plane + o, -r[y][1]);
      }
    }
  }
}

// du[tail][NV W] += v^T m for the last `tail` (< kRows) input channels.
template <int W, int NV>
DDIM_INLINE void accumulate_tail(int tail, const float* v, int64_t ldv, const float* m, int64_t ldm,
                                 int64_t rows, float* du, int64_t lddu) {
  switch (tail) {
    case 1:
      multiply_rows<W, NV, 1, true>(v, 1, ldv, m, ldm, rows, du, lddu);
      break;
    case 2:
      multiply_rows<W, NV, 2, true>(v, 1, ldv, m, ldm, rows, du, lddu);
      break;
    case 3:
      multiply_rows<W, NV, 3, true>(v, 1, ldv, m, ldm, rows, du, lddu);
      break;
    case 4:
      multiply_rows<W, NV, 4, true>(v, 1, ldv, m, ldm, rows, du, lddu);
      break;
    case 5:
      multiply_rows<W, NV, 5, true>(v, 1, ldv, m, ldm, rows, du, lddu);
      break;
    default:
      break;
  }
}

// du[ξ] += v[ξ]^T m[ξ] for the 16 positions, output channels [o0, o1): [in, rows] x [rows, out].
template <int W>
DDIM_INLINE void accumulate(const Geometry& g, int64_t rows, const float* v, const float* m, float* du,
                            int64_t o0, int64_t o1) {
  const int64_t c_in = g.in, c_out = g.out, full = c_in / kRows * kRows;
  const int tail = static_cast<int>(c_in - full);
  for (int xi = 0; xi < 16; ++xi) {
    const float* a = v + xi * rows * c_in;
    const float* b = m + xi * rows * c_out;
    float* c = du + xi * c_in * c_out;
    int64_t o = o0;
    for (; o + 2 * W <= o1; o += 2 * W) {
      for (int64_t i = 0; i < full; i += kRows)
        multiply_rows<W, 2, kRows, true>(a + i, 1, c_in, b + o, c_out, rows, c + i * c_out + o, c_out);
      accumulate_tail<W, 2>(tail, a + full, c_in, b + o, c_out, rows, c + full * c_out + o, c_out);
    }
    for (; o < o1; o += W) {
      for (int64_t i = 0; i < full; i += kRows)
        multiply_rows<W, 1, kRows, true>(a + i, 1, c_in, b + o, c_out, rows, c + i * c_out + o, c_out);
      accumulate_tail<W, 1>(tail, a + full, c_in, b + o, c_out, rows, c + full * c_out + o, c_out);
    }
  }
}

// Weight-gradient items [begin, end): item i is chunk i / g.groups (kBlocksPerChunk blocks of
// g.block tiles, summed in order into that chunk's own du) and group i % g.groups of output
// channels. A tile's contribution lands in the same chunk in the same order whatever the threads.
constexpr int64_t kBlocksPerChunk = 8;

template <int W>
DDIM_INLINE void run_grad_items(const Geometry& g, float* du_chunks, int64_t begin, int64_t end) {
  thread_local std::vector<float> scratch, zeros;
  const size_t need = static_cast<size_t>(16 * g.block * (g.in + g.out));
  if (scratch.size() < need) scratch.resize(need);
  if (zeros.size() < static_cast<size_t>(std::max(g.in, g.out))) zeros.resize(std::max(g.in, g.out), 0.f);
  float* v = scratch.data();
  float* m = v + 16 * g.block * g.in;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t chunk = item / g.groups, o0 = item % g.groups * g.group, o1 = std::min(g.out, o0 + g.group);
    float* du = du_chunks + chunk * 16 * g.in * g.out;
    for (int64_t blk = chunk * kBlocksPerChunk; blk < (chunk + 1) * kBlocksPerChunk; ++blk) {
      const int64_t t0 = blk * g.block;
      if (t0 >= g.tiles) break;
      const int64_t count = std::min(g.block, g.tiles - t0), rows = (count + kRows - 1) / kRows * kRows;
      transform_input<W>(g, t0, count, rows, v, zeros.data());
      transform_grad<W>(g, t0, count, rows, m, o0, o1, zeros.data());
      accumulate<W>(g, rows, v, m, du, o0, o1);
    }
  }
}

__attribute__((target("avx512f,fma"))) void run_grad_items_avx512(const Geometry& g, float* du, int64_t begin,
                                                                  int64_t end) {
  run_grad_items<16>(g, du, begin, end);
}
__attribute__((target("avx2,fma"))) void run_grad_items_avx2(const Geometry& g, float* du, int64_t begin,
                                                             int64_t end) {
  run_grad_items<8>(g, du, begin, end);
}

// Work items [begin, end) on this thread, item i being block i / g.groups of g.block tiles and
// group i % g.groups of g.group output channels. Its scratch (the transformed inputs and products
// of one block, sized to stay in its core's cache) is its own and kept between calls; a block's
// input is transformed once for the consecutive items that share it.
template <int W>
DDIM_INLINE void run_items(const Geometry& g, int64_t begin, int64_t end) {
  thread_local std::vector<float> scratch, zeros, sink;
  const size_t need = static_cast<size_t>(16 * g.block * (g.in + g.out));
  if (scratch.size() < need) scratch.resize(need);
  if (zeros.size() < static_cast<size_t>(g.in)) zeros.resize(g.in, 0.f);
  if (sink.size() < static_cast<size_t>(g.out)) sink.resize(g.out);
  float* v = scratch.data();
  float* m = v + 16 * g.block * g.in;
  int64_t transformed = -1;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t blk = item / g.groups, o0 = item % g.groups * g.group, o1 = std::min(g.out, o0 + g.group);
    const int64_t t0 = blk * g.block, count = std::min(g.block, g.tiles - t0);
    const int64_t rows = (count + kRows - 1) / kRows * kRows;
    if (blk != transformed) transform_input<W>(g, t0, count, rows, v, zeros.data());
    transformed = blk;
    multiply<W>(g, rows, v, m, o0, o1);
    transform_output<W>(g, t0, count, rows, m, o0, o1, sink.data());
  }
}

__attribute__((target("avx512f,fma"))) void run_items_avx512(const Geometry& g, int64_t begin, int64_t end) {
  run_items<16>(g, begin, end);
}
__attribute__((target("avx2,fma"))) void run_items_avx2(const Geometry& g, int64_t begin, int64_t end) {
  run_items<8>(g, begin, end);
}

int width_of(SimdLevel level) { return level == SimdLevel::Avx512 ? 16 : 8; }

}  // namespace

std::vector<SimdLevel> winograd_simd_levels() {
  std::vector<SimdLevel> levels;
#if defined(__x86_64__)
  __builtin_cpu_init();
  // LibTorch's own limit on its kernels, ATEN_CPU_CAPABILITY=avx2 or default, limits these too:
  // how an AVX2 machine's code paths are tried on an AVX-512 one.
  const char* cap = std::getenv("ATEN_CPU_CAPABILITY");
  const std::string limit = cap ? cap : "";
  const bool fma = __builtin_cpu_supports("fma");
  if (__builtin_cpu_supports("avx512f") && fma && limit != "avx2" && limit != "default")
    levels.push_back(SimdLevel::Avx512);
  if (__builtin_cpu_supports("avx2") && fma && limit != "default") levels.push_back(SimdLevel::Avx2);
#endif
  return levels;
}

std::string WinogradConvolution::why_not(int64_t in, int64_t out, SimdLevel level) {
  const auto levels = winograd_simd_levels();
  if (std::find(levels.begin(), levels.end(), level) == levels.end())
    return level == SimdLevel::Avx512 ? "this CPU has no AVX-512" : "this CPU has no AVX2 with FMA";
  if (in < 1 || out < 1 || out % width_of(level) != 0)
    return fmt::format("{} output channels are not a multiple of {}", out, width_of(level));
  return "";
}

WinogradConvolution::WinogradConvolution(const torch::Tensor& weight, const torch::Tensor& bias,
                                         SimdLevel level)
    : level_(level) {
  DDIM_CHECK_ARG(weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3,
                 "Winograd's F(2x2, 3x3) takes 3x3 weights [out, in, 3, 3], got {}",
                 fmt::join(weight.sizes(), "x"));
  out_ = weight.size(0);
  in_ = weight.size(1);
  DDIM_CHECK_ARG(bias.dim() == 1 && bias.size(0) == out_, "the bias must be [{}], got {}", out_,
                 fmt::join(bias.sizes(), "x"));
  const auto reason = why_not(in_, out_, level);
  DDIM_CHECK_ARG(reason.empty(), "Winograd's F(2x2, 3x3) cannot run here: {}", reason);
  // U = G g G^T (G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]) in double, kept as fp32
  // [16, in, out]. By hand: it runs on every call of conv3x3, twice a training step per layer.
  torch::NoGradGuard no_grad;
  const auto g = weight.detach().to(torch::kCPU, torch::kFloat).contiguous();
  u_ = torch::empty({16, in_, out_}, torch::kFloat);
  const float* gp = g.data_ptr<float>();
  float* up = u_.data_ptr<float>();
  const int64_t plane = in_ * out_;
  at::parallel_for(0, out_, 16, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o)
      for (int64_t i = 0; i < in_; ++i) {
        const float* k = gp + (o * in_ + i) * 9;
        double t[4][3];  // G g: rows
        for (int c = 0; c < 3; ++c) {
          const double r0 = k[c], r1 = k[3 + c], r2 = k[6 + c];
          t[0][c] = r0;
          t[1][c] = 0.5 * (r0 + r1 + r2);
          t[2][c] = 0.5 * (r0 - r1 + r2);
          t[3][c] = r2;
        }
        for (int r = 0; r < 4; ++r) {  // (G g) G^T: columns
          const double c0 = t[r][0], c1 = t[r][1], c2 = t[r][2];
          const double row[4] = {c0, 0.5 * (c0 + c1 + c2), 0.5 * (c0 - c1 + c2), c2};
          for (int c = 0; c < 4; ++c) up[(4 * r + c) * plane + i * out_ + o] = static_cast<float>(row[c]);
        }
      }
  });
  bias_ = bias.detach().to(torch::kCPU, torch::kFloat).contiguous();
}

void WinogradConvolution::operator()(const torch::Tensor& src, const torch::Tensor& dst,
                                     Epilogue epilogue) const {
  DDIM_CHECK_ARG(src.dim() == 4 && src.size(1) == in_ && src.scalar_type() == torch::kFloat &&
                     src.device().is_cpu() && src.is_contiguous(torch::MemoryFormat::ChannelsLast),
                 "the convolution's input must be fp32 [B, {}, H, W] channels-last on the CPU, got {} {}",
                 in_, fmt::join(src.sizes(), "x"), c10::toString(src.scalar_type()));
  DDIM_CHECK_ARG(
      dst.dim() == 4 && dst.size(0) == src.size(0) && dst.size(1) == out_ && dst.size(2) == src.size(2) &&
          dst.size(3) == src.size(3) && dst.scalar_type() == torch::kFloat &&
          dst.is_contiguous(torch::MemoryFormat::ChannelsLast),
      "the convolution's output must be fp32 [{}, {}, {}, {}] channels-last, got {} {}", src.size(0), out_,
      src.size(2), src.size(3), fmt::join(dst.sizes(), "x"), c10::toString(dst.scalar_type()));
  Geometry g{};
  g.src = src.data_ptr<float>();
  g.dst = dst.data_ptr<float>();
  g.u = u_.data_ptr<float>();
  g.bias = bias_.data_ptr<float>();
  g.h = src.size(2);
  g.w = src.size(3);
  g.th = (g.h + 1) / 2;
  g.tw = (g.w + 1) / 2;
  g.in = in_;
  g.out = out_;
  g.epilogue = epilogue;
  g.tiles = src.size(0) * g.th * g.tw;
  // A block's transformed inputs and products, 16 (in + out) floats a tile, in about 256 KiB: on
  // the 2-core EPYC (1 MiB L2 a core) 128 to 512 KiB ran the U-Net's layers equally fast and 2 MiB
  // 8 % slower.
  const int64_t threads = at::get_num_threads(), width = width_of(level_);
  int64_t block = std::max<int64_t>(1, 4096 / (in_ + out_) / kRows) * kRows;
  // Small inputs (a batch of one, the U-Net's 4x4 middle) have too few blocks to keep every
  // thread busy: there the output channels are split too (each part transforms the block's input
  // again), and blocks are made smaller, to about four items a thread.
  const int64_t want = 4 * threads;
  int64_t groups = 1;
  const int64_t blocks_now = (g.tiles + block - 1) / block;
  if (blocks_now < want) {
    groups = std::min(out_ / (2 * width), (want + blocks_now - 1) / blocks_now);
    groups = std::max<int64_t>(groups, 1);
    const int64_t blocks_wanted = (want + groups - 1) / groups;
    const int64_t smaller = ((g.tiles + blocks_wanted - 1) / blocks_wanted + kRows - 1) / kRows * kRows;
    block = std::clamp<int64_t>(smaller, kRows, block);
  }
  g.block = block;
  g.group = (out_ / width + groups - 1) / groups * width;
  g.groups = (out_ + g.group - 1) / g.group;
  const int64_t items = (g.tiles + block - 1) / block * g.groups;
  const bool avx512 = level_ == SimdLevel::Avx512;
  at::parallel_for(0, items, 1, [&](int64_t begin, int64_t end) {
    if (avx512)
      run_items_avx512(g, begin, end);
    else
      run_items_avx2(g, begin, end);
  });
}

torch::Tensor winograd_weight_gradient(const torch::Tensor& x, const torch::Tensor& grad, SimdLevel level) {
  auto fits = [](const torch::Tensor& t) {
    return t.dim() == 4 && t.scalar_type() == torch::kFloat && t.device().is_cpu() &&
           t.is_contiguous(torch::MemoryFormat::ChannelsLast);
  };
  DDIM_CHECK_ARG(fits(x) && fits(grad) && x.size(0) == grad.size(0) && x.size(2) == grad.size(2) &&
                     x.size(3) == grad.size(3),
                 "the weights' gradient takes fp32 channels-last input [B, in, H, W] and output gradient [B, "
                 "out, H, W] on the CPU, got {} and {}",
                 fmt::join(x.sizes(), "x"), fmt::join(grad.sizes(), "x"));
  const int64_t in = x.size(1), out = grad.size(1);
  const auto reason = WinogradConvolution::why_not(in, out, level);
  DDIM_CHECK_ARG(reason.empty(), "Winograd's F(2x2, 3x3) cannot run here: {}", reason);
  Geometry g{};
  g.src = x.data_ptr<float>();
  g.grad = grad.data_ptr<float>();
  g.h = x.size(2);
  g.w = x.size(3);
  g.th = (g.h + 1) / 2;
  g.tw = (g.w + 1) / 2;
  g.in = in;
  g.out = out;
  g.tiles = x.size(0) * g.th * g.tw;
  // A block's transformed inputs and gradients in about 1 MiB: each element of the product's sum
  // is loaded and stored once a block, so a block is made longer than the forward's.
  g.block = std::max<int64_t>(1, 262144 / (16 * (in + out)) / kRows) * kRows;
  const int64_t blocks = (g.tiles + g.block - 1) / g.block;
  const int64_t chunks = (blocks + kBlocksPerChunk - 1) / kBlocksPerChunk;
  // Few chunks (small images): the output channels are split too, each part transforming the
  // block's inputs again; a part's sums are the same whatever the split.
  const int64_t threads = at::get_num_threads(), width = width_of(level), want = 2 * threads;
  int64_t groups = 1;
  if (chunks < want) groups = std::clamp<int64_t>((want + chunks - 1) / chunks, 1, out / width);
  g.group = (out / width + groups - 1) / groups * width;
  g.groups = (out + g.group - 1) / g.group;
  auto du = torch::zeros({chunks, 16, in, out}, torch::kFloat);
  float* dup = du.data_ptr<float>();
  const bool avx512 = level == SimdLevel::Avx512;
  at::parallel_for(0, chunks * g.groups, 1, [&](int64_t begin, int64_t end) {
    if (avx512)
      run_grad_items_avx512(g, dup, begin, end);
    else
      run_grad_items_avx2(g, dup, begin, end);
  });
  // The chunks summed in order, then dL/dg = G^T (dL/dU) G, in double (G as in the constructor).
  auto dw = torch::empty({out, in, 3, 3}, torch::kFloat);
  float* dwp = dw.data_ptr<float>();
  at::parallel_for(0, in, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> d(16 * out);
    for (int64_t i = begin; i < end; ++i) {
      std::fill(d.begin(), d.end(), 0.0);
      for (int64_t c = 0; c < chunks; ++c)
        for (int xi = 0; xi < 16; ++xi) {
          const float* row = dup + ((c * 16 + xi) * in + i) * out;
          double* di = d.data() + xi * out;
          for (int64_t o = 0; o < out; ++o) di[o] += row[o];
        }
      for (int64_t o = 0; o < out; ++o) {
        double t[3][4];  // G^T D: rows
        for (int col = 0; col < 4; ++col) {
          const double d0 = d[(0 + col) * out + o], d1 = d[(4 + col) * out + o], d2 = d[(8 + col) * out + o],
                       d3 = d[(12 + col) * out + o];
          t[0][col] = d0 + 0.5 * (d1 + d2);
          t[1][col] = 0.5 * (d1 - d2);
          t[2][col] = 0.5 * (d1 + d2) + d3;
        }
        float* k = dwp + (o * in + i) * 9;
        for (int r = 0; r < 3; ++r) {  // (G^T D) G: columns
          const double c0 = t[r][0], c1 = t[r][1], c2 = t[r][2], c3 = t[r][3];
          k[3 * r + 0] = static_cast<float>(c0 + 0.5 * (c1 + c2));
          k[3 * r + 1] = static_cast<float>(0.5 * (c1 - c2));
          k[3 * r + 2] = static_cast<float>(0.5 * (c1 + c2) + c3);
        }
      }
    }
  });
  return dw;
}

std::optional<SimdLevel> winograd_level_for(const torch::Tensor& x, int64_t out) {
  static const auto levels = winograd_simd_levels();
  if (levels.empty() || x.dim() != 4 || !x.device().is_cpu() || x.scalar_type() != torch::kFloat ||
      !x.is_contiguous(torch::MemoryFormat::ChannelsLast))
    return std::nullopt;
  if (x.size(0) * ((x.size(2) + 1) / 2) * ((x.size(3) + 1) / 2) < WinogradConvolution::kMinTiles)
    return std::nullopt;
  if (!WinogradConvolution::why_not(x.size(1), out, levels.front()).empty()) return std::nullopt;
  return levels.front();
}

namespace {

torch::Tensor channels_last_like(const torch::Tensor& x, int64_t channels) {
  return torch::empty({x.size(0), channels, x.size(2), x.size(3)},
                      x.options().memory_format(torch::MemoryFormat::ChannelsLast));
}

// The weights' and bias's gradients, and the input's where Winograd's does not apply, from
// LibTorch's convolution_backward.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> libtorch_backward(const torch::Tensor& grad,
                                                                          const torch::Tensor& x,
                                                                          const torch::Tensor& w,
                                                                          std::array<bool, 3> mask) {
  return at::convolution_backward(grad, x, w, at::IntArrayRef{w.size(0)}, {1, 1}, {1, 1}, {1, 1}, false,
                                  {0, 0}, 1, mask);
}

struct Conv3x3 : torch::autograd::Function<Conv3x3> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, int64_t level) {
    ctx->save_for_backward({x, weight});
    RECORD_FUNCTION("ddim::winograd_convolution", std::vector<c10::IValue>({x, weight}));
    auto y = channels_last_like(x, weight.size(0));
    WinogradConvolution(weight, bias, static_cast<SimdLevel>(level))(x, y,
                                                                     WinogradConvolution::Epilogue::None);
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const auto grad = grads[0].contiguous(torch::MemoryFormat::ChannelsLast);
    torch::Tensor gx, gw, gb;
    const auto level = ctx->needs_input_grad(0) ? winograd_level_for(grad, w.size(1)) : std::nullopt;
    const bool wino_x = level.has_value();
    const auto level_w = ctx->needs_input_grad(1) &&
                                 std::min(w.size(0), w.size(1)) >= WinogradConvolution::kMinGradientChannels
                             ? winograd_level_for(x, w.size(0))
                             : std::nullopt;
    const bool wino_w = level_w.has_value();
    const std::array<bool, 3> mask = {ctx->needs_input_grad(0) && !wino_x,
                                      ctx->needs_input_grad(1) && !wino_w, ctx->needs_input_grad(2)};
    if (mask[0] || mask[1])
      std::tie(gx, gw, gb) = libtorch_backward(grad, x, w, mask);
    else if (mask[2])
      gb = grad.sum({0, 2, 3});
    if (wino_w) {
      torch::NoGradGuard no_grad;
      RECORD_FUNCTION("ddim::winograd_convolution_weight_gradient", std::vector<c10::IValue>({x, grad}));
      gw = winograd_weight_gradient(x, grad, *level_w).contiguous(w.suggest_memory_format());
    }
    if (wino_x) {
      // dL/dx = the correlation of dL/dy with w turned by 180 degrees, in and out swapped.
      torch::NoGradGuard no_grad;
      const auto turned = w.transpose(0, 1).flip({2, 3});
      RECORD_FUNCTION("ddim::winograd_convolution", std::vector<c10::IValue>({grad, turned}));
      gx = channels_last_like(x, w.size(1));
      WinogradConvolution(turned, torch::zeros({w.size(1)}), *level)(grad, gx,
                                                                     WinogradConvolution::Epilogue::None);
    }
    return {gx, gw, gb, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor conv3x3(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3 &&
      weight.scalar_type() == torch::kFloat && bias.defined() && !autocast_enabled(torch::kCPU) &&
      x.dim() == 4 && x.size(1) == weight.size(1))
    if (const auto level = winograd_level_for(x, weight.size(0)))
      return Conv3x3::apply(x, weight, bias, static_cast<int64_t>(*level));
  return torch::conv2d(x, weight, bias, 1, 1);
}

}  // namespace ddim
