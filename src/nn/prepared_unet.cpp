#include "ddim/nn/prepared_unet.h"

#include <functional>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "ddim/core/error.h"
#include "ddim/nn/unet.h"

#ifdef DDIM_WITH_ONEDNN
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

std::string PreparedUNet::why_not(const UNet& net) {
  const auto& o = net.options();
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
  torch::Tensor in_shift;             // the mean m its input is stored shifted by, [in]
  torch::Tensor skip_delta;           // up blocks: added to the skip as it is concatenated, [in - x's]
  int64_t skip = -1;                  // up blocks: the down block whose output is the skip
  int64_t skip_channels = 0;
  bool pool_after = false, upsample_before = false;
};

}  // namespace

struct PreparedUNet::Impl {
  UNetOptions options;
  ConvParams stem, head;          // stem's bias holds the shift of down0_0's input, head's reads 0 shift
  torch::Tensor embedding_shift;  // the embedding channels' shift, [embedding_dims]
  std::vector<BlockParams> blocks;
#ifdef DDIM_WITH_ONEDNN
  struct Plan;
  std::map<std::tuple<int64_t, int64_t, int64_t, int, bool>, std::shared_ptr<Plan>> plans;
  std::shared_ptr<Plan> make_plan(int64_t batch, int64_t height, int64_t width, bool bf16);
#endif
  std::mutex mutex;  // a plan's buffers serve one call at a time
};

PreparedUNet::~PreparedUNet() = default;

PreparedUNet::PreparedUNet(const UNet& net) : impl_(std::make_unique<Impl>()) {
  const auto reason = why_not(net);
  DDIM_CHECK_ARG(reason.empty(), "the prepared inference form does not cover this U-Net: {}", reason);
  torch::NoGradGuard no_grad;
  auto& m = *impl_;
  const auto& o = net.options();
  m.options = o;
  // The blocks in the order they run, and for each the norm that reads its input.
  std::vector<const ResidualBlockImpl*> order;
  for (const auto& b : net.down_) order.push_back(b.get());
  for (const auto& b : net.middle_) order.push_back(b.get());
  for (const auto& b : net.up_) order.push_back(b.get());
  const int64_t levels = static_cast<int64_t>(o.widths.size()) - 1, depth = o.block_depth;
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
    p.in_shift = shift[k];
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
      // X + m + conv2(h) + b_2 - shift(out): X is copied to the output first.
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
  (void)levels;
  m.stem = params_of(net.stem_);
  m.stem.bias -= shift[0].narrow(0, 0, o.widths[0]);
  if (o.noise_input) m.embedding_shift = shift[0].narrow(0, o.widths[0], o.embedding_dims).contiguous();
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
};

std::shared_ptr<PreparedUNet::Impl::Plan> PreparedUNet::Impl::make_plan(int64_t batch, int64_t height,
                                                                        int64_t width, bool bf16) {
  auto plan = std::make_shared<Plan>();
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat;
  const Dt dt = bf16 ? Dt::bf16 : Dt::f32;
  auto buffer = [&](int64_t channels, int64_t h, int64_t w) {
    auto t = torch::empty({batch, channels, h, w}, torch::TensorOptions().dtype(dtype))
                 .contiguous(torch::MemoryFormat::ChannelsLast);
    plan->buffers.push_back(t);
    return t;
  };
  // dst = [dst +] post(conv(src) + bias): post = swish or nothing; with `accumulate`, conv2's
  // residual add (oneDNN's sum post-op).
  auto conv = [&](const ConvParams& p, const torch::Tensor& src, const torch::Tensor& dst, bool swish,
                  bool accumulate) {
    const int64_t k = p.kernel(), pad = k / 2;
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
  int64_t h = height, w = width;
  plan->input = buffer(o.widths[0] + (o.noise_input ? o.embedding_dims : 0), h, w);
  torch::Tensor x = plan->input;
  std::vector<torch::Tensor> outputs;
  for (const auto& b : blocks) {
    if (b.skip >= 0) {
      // [x (upsampled), skip + delta] written into the block's input buffer.
      torch::Tensor up = x;
      if (b.upsample_before) {
        h *= 2;
        w *= 2;
        up = buffer(x.size(1), h, w);
        const auto src = x;
        plan->steps.push_back([src, up]() mutable {
          at::upsample_bilinear2d_out(up, src, {up.size(2), up.size(3)}, /*align_corners=*/false);
        });
      }
      auto cat = buffer(b.in, h, w);
      const auto skip = outputs[b.skip];
      const auto delta = b.skip_delta.to(dtype).view({1, -1, 1, 1});
      const int64_t xc = b.in - b.skip_channels;
      plan->buffers.push_back(delta);
      plan->steps.push_back([cat, up, skip, delta, xc] {
        cat.narrow(1, 0, xc).copy_(up);
        auto rest = cat.narrow(1, xc, skip.size(1));
        at::add_out(rest, skip, delta);
      });
      x = cat;
    }
    auto hidden = buffer(b.out, h, w);
    auto y = buffer(b.out, h, w);
    conv(b.conv1, x, hidden, /*swish=*/true, /*accumulate=*/false);
    if (b.residual.weight.defined()) {
      conv(b.residual, x, y, false, false);
    } else {
      const auto src = x;
      plan->steps.push_back([src, y]() mutable { y.copy_(src); });
    }
    conv(b.conv2, hidden, y, false, /*accumulate=*/true);
    outputs.push_back(y);
    x = y;
    if (b.pool_after) {
      h /= 2;
      w /= 2;
      auto pooled = buffer(b.out, h, w);
      plan->steps.push_back([y, pooled]() mutable { at::avg_pool2d_out(pooled, y, {2, 2}); });
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
    }
    found = m.plans.emplace(key, plan).first;
  }
  const auto plan = found->second;
  if (!plan) return {};
  const auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat;
  // The stem (a 1x1 convolution from the image's few channels) and the embedding tile, stored
  // shifted like every other activation.
  const int64_t w0 = o.widths[0];
  plan->input.narrow(1, 0, w0).copy_(torch::conv2d(x.to(torch::kFloat), m.stem.weight, m.stem.bias));
  if (o.noise_input) {
    const auto e = sinusoidal_embedding(noise_variance.reshape({-1}).to(torch::kFloat), o.embedding_dims,
                                        o.embedding_max_frequency) -
                   m.embedding_shift.view({1, -1});
    plan->input.narrow(1, w0, o.embedding_dims)
        .copy_(e.view({x.size(0), -1, 1, 1}).expand_as(plan->input.narrow(1, w0, o.embedding_dims)));
  }
  for (const auto& step : plan->steps) step();
  plan->stream.wait();
  // The head: a 1x1 convolution to the image's channels, into a new tensor (the buffers are
  // the next call's).
  return torch::conv2d(plan->output, m.head.weight.to(dtype), m.head.bias.to(dtype))
      .contiguous(torch::MemoryFormat::Contiguous);
}

#else

torch::Tensor PreparedUNet::forward(const torch::Tensor&, const torch::Tensor&, bool) { return {}; }

#endif

}  // namespace ddim
