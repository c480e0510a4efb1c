#include "ddim/nn/prepared_unet.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "ddim/core/error.h"
#include "ddim/nn/unet.h"
#include "ddim/nn/winograd.h"

#ifdef DDIM_WITH_ONEDNN
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <dnnl.hpp>
#endif

namespace ddim {

bool prepared_inference_built() {
#ifdef DDIM_WITH_ONEDNN
  return true;
#else
  return false;
#endif
}

std::string PreparedUNet::why_not(const UNetOptions& o) {
  if (!prepared_inference_built()) return "this build has no oneDNN (Debian: libdnnl-dev)";
  if (o.norm != NormKind::Batch) return "it normalises with group norm";
  if (!o.attention_resolutions.empty()) return "it has self-attention";
  if (o.cond_dim > 0 || o.classes > 0) return "it is conditioned";
  return "";
}

namespace {

// One convolution with its parameters as the prepared network runs it: weights [O, I, k, k]
// and bias [O], fp32, contiguous, already folded and shifted.
struct ConvParams {
  torch::Tensor weight, bias;
  int64_t kernel() const { return weight.size(2); }
};

ConvParams params_of(const torch::nn::Conv2d& conv) {
  return {conv->weight.detach().to(torch::kFloat).contiguous(),
          conv->bias.detach().to(torch::kFloat).clone()};
}

// The weights applied to a constant per-channel input v ([I]): sum over I and the taps, [O]
// (a 1x1 convolution's response to a constant plane, or a 3x3's away from the border).
torch::Tensor response(const torch::Tensor& weight, const torch::Tensor& v) {
  return (weight.to(torch::kDouble) * v.to(torch::kDouble).view({1, -1, 1, 1})).sum({1, 2, 3});
}

struct BlockParams {
  int64_t in = 0, out = 0;
  ConvParams conv1, conv2, residual;  // residual.weight undefined: the identity
  torch::Tensor skip_delta;           // up blocks: added to the skip as it is concatenated, [in - x's]
  int64_t skip = -1;                  // up blocks: the down block whose output is the skip
  int64_t skip_channels = 0;
  bool pool_after = false, upsample_before = false;
};

}  // namespace

struct PreparedUNet::Impl {
  UNetOptions options;
  ConvParams stem, head;          // stem's bias holds the shift of down0_0's input, head's reads 0 shift
  torch::Tensor stem_weight_t;    // the stem's weights as [in, w0], for stem_rows
  torch::Tensor embedding_shift;  // the embedding channels' shift, [embedding_dims]
  torch::Tensor embedding_freq;   // the embedding's frequencies, [embedding_dims / 2]
  std::vector<BlockParams> blocks;
  bool winograd = true;  // fp32 3x3 convolutions by Winograd's algorithm where it applies
#ifdef DDIM_WITH_ONEDNN
  struct Plan;
  std::map<std::tuple<int64_t, int64_t, int64_t, int, bool>, std::shared_ptr<Plan>> plans;
  std::shared_ptr<Plan> make_plan(int64_t batch, int64_t height, int64_t width, bool bf16);
#endif
  std::mutex mutex;  // a plan's buffers serve one call at a time
};

PreparedUNet::~PreparedUNet() = default;

PreparedUNet::PreparedUNet(const UNet& net, bool winograd) : impl_(std::make_unique<Impl>()) {
  const auto reason = why_not(net.options());
  DDIM_CHECK_ARG(reason.empty(), "the prepared inference form does not cover this U-Net: {}", reason);
  torch::NoGradGuard no_grad;
  auto& m = *impl_;
  const auto& o = net.options();
  m.options = o;
  m.winograd = winograd;
  // The blocks in the order they run, and for each the norm that reads its input.
  std::vector<const ResidualBlockImpl*> order;
  for (const auto& b : net.down_) order.push_back(b.get());
  for (const auto& b : net.middle_) order.push_back(b.get());
  for (const auto& b : net.up_) order.push_back(b.get());
  const int64_t depth = o.block_depth;
  const int64_t n_down = static_cast<int64_t>(net.down_.size()),
                n_middle = static_cast<int64_t>(net.middle_.size());
  std::vector<torch::Tensor> shift(order.size()), scale(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    const auto& bn = order[k]->batch_norm_;
    shift[k] = bn->running_mean.detach().to(torch::kFloat).clone();
    scale[k] = torch::rsqrt(bn->running_var.detach().to(torch::kFloat) + bn->options.eps());
  }
  // Each block's output is stored shifted by what the next block's norm subtracts from those
  // channels (the output's channels come first in the next block's input: pooling and bilinear
  // upsampling map a constant to itself); the last one, read by the head, is not shifted.
  auto out_shift = [&](size_t k) {
    const int64_t out = order[k]->out_;
    return k + 1 < order.size() ? shift[k + 1].narrow(0, 0, out) : torch::zeros({out});
  };
  for (size_t k = 0; k < order.size(); ++k) {
    const auto* blk = order[k];
    BlockParams p;
    p.in = blk->in_;
    p.out = blk->out_;
    const auto o_shift = out_shift(k).to(torch::kDouble);
    const auto m_in = shift[k].to(torch::kDouble);
    // conv1 reads a (x - m) = a X, X the stored input: the weights scaled by a per input channel.
    p.conv1 = params_of(blk->conv1_);
    p.conv1.weight.mul_(scale[k].view({1, -1, 1, 1}));
    p.conv2 = params_of(blk->conv2_);
    auto b2 = p.conv2.bias.to(torch::kDouble) - o_shift;
    if (blk->residual_) {
      // W_r (X + m) + b_r + b_2 - shift(out): one bias, on the residual convolution that
      // writes the output first; conv2 then accumulates into it.
      p.residual = params_of(blk->residual_);
      p.residual.bias =
          (p.residual.bias.to(torch::kDouble) + response(p.residual.weight, m_in) + b2).to(torch::kFloat);
      p.conv2.bias = torch::zeros_like(p.conv2.bias);
    } else {
      // X + m + conv2(h) + b_2 - shift(out): conv2 accumulates into X itself.
      p.conv2.bias = (b2 + m_in).to(torch::kFloat);
    }
    const int64_t kk = static_cast<int64_t>(k);
    if (kk < n_down) p.pool_after = (kk % depth) == depth - 1;
    if (kk >= n_down + n_middle) {
      const int64_t j = kk - n_down - n_middle;  // up blocks mirror the down blocks
      p.upsample_before = j % depth == 0;
      p.skip = n_down - 1 - j;
      p.skip_channels = order[p.skip]->out_;
      const int64_t x_channels = p.in - p.skip_channels;
      // The skip is stored shifted for the down block after it; this block wants its own.
      p.skip_delta = (out_shift(p.skip) - shift[k].narrow(0, x_channels, p.skip_channels)).contiguous();
    }
    m.blocks.push_back(std::move(p));
  }
  m.stem = params_of(net.stem_);
  m.stem.bias -= shift[0].narrow(0, 0, o.widths[0]);
  m.stem_weight_t = m.stem.weight.view({o.widths[0], o.channels}).t().contiguous();
  if (o.noise_input) {
    m.embedding_shift = shift[0].narrow(0, o.widths[0], o.embedding_dims).contiguous();
    m.embedding_freq = sinusoidal_frequencies(o.embedding_dims, o.embedding_max_frequency);
  }
  m.head = params_of(net.head_);
}

#ifdef DDIM_WITH_ONEDNN

namespace {

using dnnl::memory;
using Dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc nhwc(const torch::Tensor& t, Dt dt) {
  return memory::desc({t.size(0), t.size(1), t.size(2), t.size(3)}, dt, memory::format_tag::nhwc);
}

// PyTorch's source index for bilinear resizing without align_corners, at scale 1/2: the
// first of the two input rows (or columns) an output one mixes, the second, and its weight.
inline void source_of(int64_t out, int64_t n, int64_t& i0, int64_t& i1, float& lambda) {
  const float s = std::max(0.f, (static_cast<float>(out) + 0.5f) * 0.5f - 0.5f);
  i0 = static_cast<int64_t>(s);
  i1 = std::min(i0 + 1, n - 1);
  lambda = s - static_cast<float>(i0);
}

// Loads and stores in fp32 arithmetic: bf16 by its bits (a bf16 is the top half of a float; the
// store rounds to nearest even, as c10::BFloat16 does for the finite values activations are), so
// that the compiler vectorises the channel loop as it does fp32's.
inline float load(const float* p) { return *p; }
inline void store(float* p, float v) { *p = v; }
inline float load(const uint16_t* p) {
  const uint32_t bits = static_cast<uint32_t>(*p) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
inline void store(uint16_t* p, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof v);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  *p = static_cast<uint16_t>(bits >> 16);
}

// Output rows [begin, end) of the upsampling: for each, the two input rows it mixes, and for each
// output column the two input columns (j0, j1) and the second one's weight m1.
template <class T>
inline __attribute__((always_inline)) void upsample_rows(const T* in, T* out, int64_t h, int64_t w, int64_t c,
                                                         int64_t out_c, int64_t begin, int64_t end,
                                                         const int64_t* j0, const int64_t* j1,
                                                         const float* m1) {
  const int64_t oh = 2 * h, ow = 2 * w;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t b = r / oh, y = r % oh;
    int64_t i0, i1;
    float l1;
    source_of(y, h, i0, i1, l1);
    const float l0 = 1.f - l1;
    const T* row0 = in + (b * h + i0) * w * c;
    const T* row1 = in + (b * h + i1) * w * c;
    for (int64_t x = 0; x < ow; ++x) {
      const T* __restrict__ p00 = row0 + j0[x] * c;
      const T* __restrict__ p01 = row0 + j1[x] * c;
      const T* __restrict__ p10 = row1 + j0[x] * c;
      const T* __restrict__ p11 = row1 + j1[x] * c;
      T* __restrict__ q = out + ((b * oh + y) * ow + x) * out_c;
      const float m0 = 1.f - m1[x], m = m1[x];
      // In PyTorch's order: columns mixed first, then rows.
      for (int64_t ch = 0; ch < c; ++ch)
        store(q + ch, l0 * (m0 * load(p00 + ch) + m * load(p01 + ch)) +
                          l1 * (m0 * load(p10 + ch) + m * load(p11 + ch)));
    }
  }
}

// Compiled for AVX-512, AVX2 and the baseline; the CPU picks at run time.
#define DDIM_UPSAMPLE_ROWS(name, T)                                                                    \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void name(                              \
      const T* in, T* out, int64_t h, int64_t w, int64_t c, int64_t out_c, int64_t begin, int64_t end, \
      const int64_t* j0, const int64_t* j1, const float* m1) {                                         \
    upsample_rows(in, out, h, w, c, out_c, begin, end, j0, j1, m1);                                    \
  }
DDIM_UPSAMPLE_ROWS(upsample_rows_f32, float)
DDIM_UPSAMPLE_ROWS(upsample_rows_bf16, uint16_t)
#undef DDIM_UPSAMPLE_ROWS

// `rows`: upsample_rows_f32 or upsample_rows_bf16, for T.
template <class T, class Rows>
void upsample2x_kernel(Rows rows, const T* in, T* out, int64_t batch, int64_t h, int64_t w, int64_t c,
                       int64_t out_c) {
  const int64_t ow = 2 * w;
  std::vector<int64_t> j0(ow), j1(ow);
  std::vector<float> m1(ow);
  for (int64_t x = 0; x < ow; ++x) source_of(x, w, j0[x], j1[x], m1[x]);
  at::parallel_for(0, batch * 2 * h, 1, [&](int64_t begin, int64_t end) {
    rows(in, out, h, w, c, out_c, begin, end, j0.data(), j1.data(), m1.data());
  });
}

// Bilinear x2 upsampling (align_corners false, as upsample2x) of src [B, C, H, W] into the first
// C channels of dst [B, C', 2H, 2W], both channels-last: the concatenation's copy is this write.
void upsample2x_into(const torch::Tensor& src, const torch::Tensor& dst) {
  const int64_t b = src.size(0), c = src.size(1), h = src.size(2), w = src.size(3);
  if (src.scalar_type() == torch::kBFloat16)
    upsample2x_kernel(upsample_rows_bf16, reinterpret_cast<const uint16_t*>(src.data_ptr<c10::BFloat16>()),
                      reinterpret_cast<uint16_t*>(dst.data_ptr<c10::BFloat16>()), b, h, w, c, dst.size(1));
  else
    upsample2x_kernel(upsample_rows_f32, src.data_ptr<float>(), dst.data_ptr<float>(), b, h, w, c,
                      dst.size(1));
}

// 2x2 average pooling (stride 2) of rows [begin, end) of the output, in ATen's order: the four
// inputs summed row by row in fp32, then divided by 4 (a power of two: the same as * 0.25).
template <class T>
inline __attribute__((always_inline)) void pool_rows(const T* in, T* out, int64_t h, int64_t w, int64_t c,
                                                     int64_t begin, int64_t end) {
  const int64_t oh = h / 2, ow = w / 2;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t b = r / oh, y = r % oh;
    const T* row0 = in + (b * h + 2 * y) * w * c;
    const T* row1 = row0 + w * c;
    for (int64_t x = 0; x < ow; ++x) {
      const T* __restrict__ p00 = row0 + 2 * x * c;
      const T* __restrict__ p01 = p00 + c;
      const T* __restrict__ p10 = row1 + 2 * x * c;
      const T* __restrict__ p11 = p10 + c;
      T* __restrict__ q = out + ((b * oh + y) * ow + x) * c;
      for (int64_t ch = 0; ch < c; ++ch)
        store(q + ch, (((load(p00 + ch) + load(p01 + ch)) + load(p10 + ch)) + load(p11 + ch)) * 0.25f);
    }
  }
}

// The stem, a 1x1 convolution from the image's few channels, for pixels [begin, end) of x [P, cin]
// (fp32, channels-last), into the first w0 channels of rows of `stride` channels of `out`, and the
// noise embedding e [B, E] (one row per image of `plane` pixels) tiled into the next E.
template <class T>
inline __attribute__((always_inline)) void stem_rows(const float* x, T* out, int64_t cin, int64_t w0,
                                                     int64_t stride, const float* weight_t, const float* bias,
                                                     const float* e, int64_t dims, int64_t plane,
                                                     int64_t begin, int64_t end) {
  // In chunks of output channels with the input channels outermost, so that the compiler
  // vectorises over the outputs (a sum over the few inputs innermost stayed scalar, and took
  // more time than the head).
  constexpr int64_t kChunk = 64;
  float acc[kChunk];
  for (int64_t r = begin; r < end; ++r) {
    T* __restrict__ q = out + r * stride;
    const float* __restrict__ xr = x + r * cin;
    for (int64_t j0 = 0; j0 < w0; j0 += kChunk) {
      const int64_t n = std::min(kChunk, w0 - j0);
      for (int64_t j = 0; j < n; ++j) acc[j] = bias[j0 + j];
      for (int64_t c = 0; c < cin; ++c) {
        const float xc = xr[c];
        const float* __restrict__ wc = weight_t + c * w0 + j0;
        for (int64_t j = 0; j < n; ++j) acc[j] += xc * wc[j];
      }
      for (int64_t j = 0; j < n; ++j) store(q + j0 + j, acc[j]);
    }
    const float* __restrict__ er = e + (r / plane) * dims;
    for (int64_t j = 0; j < dims; ++j) store(q + w0 + j, er[j]);
  }
}

// A block's output [P, c] into the up block's concatenation [P, stride] at channel `offset`,
// shifted by the per-channel `delta` (the activations' shifts differ between the two readers).
template <class T>
inline __attribute__((always_inline)) void shifted_copy_rows(const T* src, T* dst, int64_t c, int64_t stride,
                                                             const float* delta, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const T* __restrict__ p = src + r * c;
    T* __restrict__ q = dst + r * stride;
    for (int64_t j = 0; j < c; ++j) store(q + j, load(p + j) + delta[j]);
  }
}

// The head, a 1x1 convolution to the image's channels: out [P, cout] from rows [P, c].
template <class T>
inline __attribute__((always_inline)) void head_rows(const T* in, T* out, int64_t c, int64_t cout,
                                                     const float* weight, const float* bias, int64_t begin,
                                                     int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    const T* __restrict__ p = in + r * c;
    for (int64_t k = 0; k < cout; ++k) {
      const float* __restrict__ w = weight + k * c;
      float v = 0.f;
      for (int64_t j = 0; j < c; ++j) v += load(p + j) * w[j];
      store(out + r * cout + k, v + bias[k]);
    }
  }
}

#define DDIM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
DDIM_CLONES void stem_rows_f32(const float* x, float* out, int64_t cin, int64_t w0, int64_t stride,
                               const float* wt, const float* b, const float* e, int64_t dims, int64_t plane,
                               int64_t begin, int64_t end) {
  stem_rows(x, out, cin, w0, stride, wt, b, e, dims, plane, begin, end);
}
DDIM_CLONES void stem_rows_bf16(const float* x, uint16_t* out, int64_t cin, int64_t w0, int64_t stride,
                                const float* wt, const float* b, const float* e, int64_t dims, int64_t plane,
                                int64_t begin, int64_t end) {
  stem_rows(x, out, cin, w0, stride, wt, b, e, dims, plane, begin, end);
}
DDIM_CLONES void shifted_copy_rows_f32(const float* src, float* dst, int64_t c, int64_t stride,
                                       const float* delta, int64_t begin, int64_t end) {
  shifted_copy_rows(src, dst, c, stride, delta, begin, end);
}
DDIM_CLONES void shifted_copy_rows_bf16(const uint16_t* src, uint16_t* dst, int64_t c, int64_t stride,
                                        const float* delta, int64_t begin, int64_t end) {
  shifted_copy_rows(src, dst, c, stride, delta, begin, end);
}
DDIM_CLONES void head_rows_f32(const float* in, float* out, int64_t c, int64_t cout, const float* w,
                               const float* b, int64_t begin, int64_t end) {
  head_rows(in, out, c, cout, w, b, begin, end);
}
DDIM_CLONES void head_rows_bf16(const uint16_t* in, uint16_t* out, int64_t c, int64_t cout, const float* w,
                                const float* b, int64_t begin, int64_t end) {
  head_rows(in, out, c, cout, w, b, begin, end);
}
DDIM_CLONES void pool_rows_f32(const float* in, float* out, int64_t h, int64_t w, int64_t c, int64_t begin,
                               int64_t end) {
  pool_rows(in, out, h, w, c, begin, end);
}
DDIM_CLONES void pool_rows_bf16(const uint16_t* in, uint16_t* out, int64_t h, int64_t w, int64_t c,
                                int64_t begin, int64_t end) {
  pool_rows(in, out, h, w, c, begin, end);
}
#undef DDIM_CLONES

// Pixels per task of the loops above: enough work to be worth a thread's start.
constexpr int64_t kPixelGrain = 256;

bool is_bf16(const torch::Tensor& t) { return t.scalar_type() == torch::kBFloat16; }
uint16_t* bf16_data(const torch::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr()); }

// Thrown while making a plan when oneDNN has only its reference kernel for a convolution
// (e.g. bf16 on a CPU without AVX512-BF16): the plain path is faster there.
struct NoFastKernel {};

}  // namespace

struct PreparedUNet::Impl::Plan {
  dnnl::stream stream{cpu_engine()};
  std::vector<std::function<void()>> steps;
  torch::Tensor input;   // the stem's output and the embedding, [B, w0 (+ E), H, W]
  torch::Tensor output;  // the last block's, read by the head
  // Keeps every buffer, weight and primitive alive for the steps' captures.
  std::vector<torch::Tensor> buffers;
  std::vector<memory> weights;
  std::vector<dnnl::convolution_forward> primitives;
  std::vector<std::shared_ptr<WinogradConvolution>> winograd;
};

std::shared_ptr<PreparedUNet::Impl::Plan> PreparedUNet::Impl::make_plan(int64_t batch, int64_t height,
                                                                        int64_t width, bool bf16) {
  auto plan = std::make_shared<Plan>();
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat;
  const Dt dt = bf16 ? Dt::bf16 : Dt::f32;
  auto buffer = [&](int64_t channels, int64_t h, int64_t w) {
    auto t =
        torch::empty({batch, channels, h, w},
                     torch::TensorOptions().dtype(dtype).memory_format(torch::MemoryFormat::ChannelsLast));
    plan->buffers.push_back(t);
    return t;
  };
  // dst = [dst +] post(conv(src) + bias): post = swish or nothing; with `accumulate`, conv2's
  // residual add (oneDNN's sum post-op).
  auto conv = [&](const ConvParams& p, const torch::Tensor& src, const torch::Tensor& dst, bool swish,
                  bool accumulate) {
    const int64_t k = p.kernel(), pad = k / 2;
    // Winograd's where it has at least kMinTiles tiles of 2x2 outputs: below that (a batch of one
    // at 8x8 and 4x4) oneDNN's direct kernel was faster, sampling at batch 1 on the 2-core EPYC at
    // 41.1 / 34.1 images/s with the limit at 64, 25.6 / 30.4 without, 32.3 / 29.6 with no Winograd.
    // (bf16 buffers do not take it.)
    const auto level = winograd && k == 3 ? winograd_level_for(src, p.weight.size(0)) : std::nullopt;
    if (level) {
      auto wino = std::make_shared<WinogradConvolution>(p.weight, p.bias, *level);
      plan->winograd.push_back(wino);
      const auto epilogue = swish        ? WinogradConvolution::Epilogue::Swish
                            : accumulate ? WinogradConvolution::Epilogue::Accumulate
                                         : WinogradConvolution::Epilogue::None;
      const auto weight = p.weight;
      plan->steps.push_back([wino, src, dst, epilogue, weight] {
        // Counted by the profiler (core/profile.h) as the direct convolution's FLOPs.
        RECORD_FUNCTION("ddim::winograd_convolution", std::vector<c10::IValue>({src, weight}));
        (*wino)(src, dst, epilogue);
      });
      return;
    }
    const memory::desc wmd({p.weight.size(0), p.weight.size(1), k, k}, dt, memory::format_tag::any);
    const memory::desc bmd({p.bias.size(0)}, Dt::f32, memory::format_tag::a);
    dnnl::post_ops ops;
    if (accumulate) ops.append_sum(1.f);
    if (swish) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                               dnnl::algorithm::convolution_direct, nhwc(src, dt), wmd, bmd,
                                               nhwc(dst, dt), {1, 1}, {pad, pad}, {pad, pad});
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
    if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) throw NoFastKernel{};
    // The weights once, in the kernel's layout and type.
    memory user(memory::desc({p.weight.size(0), p.weight.size(1), k, k}, Dt::f32, memory::format_tag::oihw),
                cpu_engine(), p.weight.data_ptr());
    memory packed(pd.weights_desc(), cpu_engine());
    dnnl::reorder(user, packed).execute(plan->stream, user, packed);
    plan->stream.wait();
    plan->weights.push_back(packed);
    plan->primitives.emplace_back(pd);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(nhwc(src, dt), cpu_engine(), src.data_ptr())},
                                         {DNNL_ARG_WEIGHTS, packed},
                                         {DNNL_ARG_BIAS, memory(bmd, cpu_engine(), p.bias.data_ptr())},
                                         {DNNL_ARG_DST, memory(nhwc(dst, dt), cpu_engine(), dst.data_ptr())}};
    auto prim = plan->primitives.back();
    auto* stream = &plan->stream;
    const auto weight = p.weight;
    plan->steps.push_back([prim, args, stream, src, weight] {
      // Seen by LibTorch's profiler (ddim bench --profile) as a convolution of these shapes.
      RECORD_FUNCTION("ddim::convolution", std::vector<c10::IValue>({src, weight}));
      prim.execute(*stream, args);
    });
  };

  const auto& o = options;
  // Each block's spatial size, and the input buffers [x, skip] of the up blocks, made first:
  // a skip is copied in as soon as its down block writes it, so that the next block may then
  // add its residual into it in place.
  std::vector<std::pair<int64_t, int64_t>> size(blocks.size());
  std::map<size_t, size_t> reader;  // down block -> the up block that reads its output
  std::vector<torch::Tensor> cats(blocks.size());
  {
    int64_t h = height, w = width;
    for (size_t k = 0; k < blocks.size(); ++k) {
      if (blocks[k].upsample_before) h *= 2, w *= 2;
      size[k] = {h, w};
      if (blocks[k].pool_after) h /= 2, w /= 2;
      if (blocks[k].skip >= 0) {
        cats[k] = buffer(blocks[k].in, size[k].first, size[k].second);
        reader[static_cast<size_t>(blocks[k].skip)] = k;
      }
    }
  }
  // conv1's outputs, read at once by conv2: one per shape.
  std::map<std::tuple<int64_t, int64_t, int64_t>, torch::Tensor> hidden_of;
  plan->input = buffer(o.widths[0] + (o.noise_input ? o.embedding_dims : 0), height, width);
  torch::Tensor x = plan->input;
  for (size_t k = 0; k < blocks.size(); ++k) {
    const auto& b = blocks[k];
    const auto [h, w] = size[k];
    if (b.skip >= 0) {
      // x (upsampled) into the first channels; the skip is there already.
      const auto cat = cats[k], src = x;
      const int64_t xc = b.in - b.skip_channels;
      if (b.upsample_before)
        plan->steps.push_back([src, cat] {
          RECORD_FUNCTION("ddim::upsample2x", std::vector<c10::IValue>({src}));
          upsample2x_into(src, cat);
        });
      else
        plan->steps.push_back([src, cat, xc] {
          RECORD_FUNCTION("ddim::copy_into", std::vector<c10::IValue>({src}));
          const int64_t size = src.element_size(), stride = cat.size(1) * size, row = xc * size;
          const auto* from = static_cast<const char*>(src.data_ptr());
          auto* to = static_cast<char*>(cat.data_ptr());
          at::parallel_for(0, src.numel() / xc, kPixelGrain, [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r) std::memcpy(to + r * stride, from + r * row, row);
          });
        });
      x = cat;
    }
    auto& hidden = hidden_of[{b.out, h, w}];
    if (!hidden.defined()) hidden = buffer(b.out, h, w);
    conv(b.conv1, x, hidden, /*swish=*/true, /*accumulate=*/false);
    torch::Tensor y = x;  // the identity residual: conv2 adds into the input, in place
    if (b.residual.weight.defined()) {
      y = buffer(b.out, h, w);
      conv(b.residual, x, y, false, false);
    }
    conv(b.conv2, hidden, y, false, /*accumulate=*/true);
    if (const auto r = reader.find(k); r != reader.end()) {
      const auto& up = blocks[r->second];
      const auto cat = cats[r->second];
      const auto delta = up.skip_delta.to(torch::kFloat).contiguous();
      const int64_t xc = up.in - up.skip_channels;
      plan->buffers.push_back(delta);
      plan->steps.push_back([cat, y, delta, xc] {
        RECORD_FUNCTION("ddim::shifted_copy", std::vector<c10::IValue>({y}));
        const int64_t pixels = y.numel() / y.size(1), c = y.size(1), stride = cat.size(1);
        const float* d = delta.data_ptr<float>();
        at::parallel_for(0, pixels, kPixelGrain, [&](int64_t begin, int64_t end) {
          if (is_bf16(y))
            shifted_copy_rows_bf16(bf16_data(y), bf16_data(cat) + xc, c, stride, d, begin, end);
          else
            shifted_copy_rows_f32(y.data_ptr<float>(), cat.data_ptr<float>() + xc, c, stride, d, begin, end);
        });
      });
    }
    x = y;
    if (b.pool_after) {
      auto pooled = buffer(b.out, h / 2, w / 2);
      plan->steps.push_back([y, pooled] {
        // ddim's loop: LibTorch's pooling of a small bf16 image cost casts and copies besides.
        RECORD_FUNCTION("ddim::avg_pool2x", std::vector<c10::IValue>({y}));
        const int64_t b = y.size(0), c = y.size(1), h = y.size(2), w = y.size(3);
        at::parallel_for(0, b * (h / 2), 1, [&](int64_t begin, int64_t end) {
          if (is_bf16(y))
            pool_rows_bf16(bf16_data(y), bf16_data(pooled), h, w, c, begin, end);
          else
            pool_rows_f32(y.data_ptr<float>(), pooled.data_ptr<float>(), h, w, c, begin, end);
        });
      });
      x = pooled;
    }
  }
  plan->output = x;
  return plan;
}

torch::Tensor PreparedUNet::forward(const torch::Tensor& x, const torch::Tensor& noise_variance, bool bf16) {
  auto& m = *impl_;
  const auto& o = m.options;
  DDIM_CHECK_ARG(x.dim() == 4 && x.size(1) == o.channels && x.device().is_cpu(),
                 "the prepared U-Net takes [B, {}, H, W] on the CPU, got {}", o.channels,
                 fmt::join(x.sizes(), "x"));
  torch::NoGradGuard no_grad;
  std::lock_guard<std::mutex> lock(m.mutex);
  const auto key = std::make_tuple(x.size(0), x.size(2), x.size(3), at::get_num_threads(), bf16);
  auto found = m.plans.find(key);
  if (found == m.plans.end()) {
    if (m.plans.size() >= 4) m.plans.clear();  // shapes come and go: keep a few
    std::shared_ptr<Impl::Plan> plan;
    try {
      plan = m.make_plan(x.size(0), x.size(2), x.size(3), bf16);
    } catch (const NoFastKernel&) {
    } catch (const dnnl::error&) {
      // No kernel at all for this type on this CPU (bf16 without AVX-512): the plain path.
    }
    found = m.plans.emplace(key, plan).first;
  }
  const auto plan = found->second;
  if (!plan) return {};
  // The stem (a 1x1 convolution from the image's few channels) written into the input buffer's
  // first channels and the embedding tiled after them, both stored shifted like every other
  // activation, in one pass.
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat;
  const int64_t batch = x.size(0), w0 = o.widths[0], plane = x.size(2) * x.size(3);
  const auto pixels = x.to(torch::kFloat).contiguous(torch::MemoryFormat::ChannelsLast);
  // The noise embedding (nn/network.h's sinusoidal_embedding: sin and cos of 2 pi v f, in fp32),
  // shifted, by a loop: as tensor operations it was ten small calls a step.
  const int64_t dims = o.noise_input ? o.embedding_dims : 0, half = dims / 2;
  std::vector<float> e(batch * dims);
  if (o.noise_input) {
    const auto v = noise_variance.reshape({-1}).to(torch::kFloat).contiguous();
    DDIM_CHECK_ARG(v.numel() == batch, "the prepared U-Net takes one noise variance per image ({}), got {}",
                   batch, v.numel());
    const float *pv = v.data_ptr<float>(), *f = m.embedding_freq.data_ptr<float>(),
                *sh = m.embedding_shift.data_ptr<float>();
    const auto two_pi = static_cast<float>(2.0 * M_PI);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t k = 0; k < half; ++k) {
        const float angle = pv[b] * two_pi * f[k];
        e[b * dims + k] = std::sin(angle) - sh[k];
        e[b * dims + half + k] = std::cos(angle) - sh[half + k];
      }
  }
  {
    // Seen by the profiler as the 1x1 convolution it is (its FLOPs counted as the plain module's).
    RECORD_FUNCTION("ddim::convolution", std::vector<c10::IValue>({pixels, m.stem.weight}));
    const auto& in = plan->input;
    const int64_t stride = in.size(1);
    at::parallel_for(0, batch * plane, kPixelGrain, [&](int64_t begin, int64_t end) {
      const float *px = pixels.data_ptr<float>(), *wt = m.stem_weight_t.data_ptr<float>(),
                  *b = m.stem.bias.data_ptr<float>(), *pe = e.data();
      if (bf16)
        stem_rows_bf16(px, bf16_data(in), o.channels, w0, stride, wt, b, pe, dims, plane, begin, end);
      else
        stem_rows_f32(px, in.data_ptr<float>(), o.channels, w0, stride, wt, b, pe, dims, plane, begin, end);
    });
  }
  for (const auto& step : plan->steps) step();
  plan->stream.wait();
  // The head, a 1x1 convolution to the image's channels, into a new tensor (the buffers are the
  // next call's).
  const auto& last = plan->output;
  auto eps =
      torch::empty({batch, o.channels, x.size(2), x.size(3)},
                   torch::TensorOptions().dtype(dtype).memory_format(torch::MemoryFormat::ChannelsLast));
  {
    RECORD_FUNCTION("ddim::convolution", std::vector<c10::IValue>({last, m.head.weight}));
    const int64_t c = last.size(1);
    at::parallel_for(0, batch * plane, kPixelGrain, [&](int64_t begin, int64_t end) {
      const float *w = m.head.weight.data_ptr<float>(), *b = m.head.bias.data_ptr<float>();
      if (bf16)
        head_rows_bf16(bf16_data(last), bf16_data(eps), c, o.channels, w, b, begin, end);
      else
        head_rows_f32(last.data_ptr<float>(), eps.data_ptr<float>(), c, o.channels, w, b, begin, end);
    });
  }
  return eps;
}

#else

torch::Tensor PreparedUNet::forward(const torch::Tensor&, const torch::Tensor&, bool) { return {}; }

#endif

}  // namespace ddim
