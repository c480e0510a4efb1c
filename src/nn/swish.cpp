#include "ddim/nn/swish.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cstdint>

#include "simd.h"

namespace ddim {

namespace {

// Work is split into fixed blocks of kBlock elements (a multiple of every vector width), so that
// which element falls in a vector tail does not depend on the number of threads: the result is
// the same bits on any thread count.
constexpr int64_t kBlock = 4096;

template <int W>
DDIM_INLINE Vec<W> sigmoid_of(Vec<W> x) {
  return 1.f / (1.f + exp_of<W>(-x));
}

template <int W, typename T>
DDIM_INLINE void forward_vec(const T* x, T* y) {
  const auto v = load<W>(x);
  store<W>(y, v * sigmoid_of<W>(v));
}

template <int W, typename T>
DDIM_INLINE void backward_vec(const T* x, const T* dy, T* dx) {
  const auto v = load<W>(x);
  const auto s = sigmoid_of<W>(v);
  store<W>(dx, load<W>(dy) * s * (1.f + v * (1.f - s)));
}

// Elements [begin, end) of n: whole vectors, then the tail through a zero-padded vector.
template <int W, typename T>
DDIM_INLINE void forward_range(const T* x, T* y, int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + W <= end; i += W) forward_vec<W>(x + i, y + i);
  if (i < end) {
    T a[W] = {}, b[W];
    std::copy(x + i, x + end, a);
    forward_vec<W>(a, b);
    std::copy(b, b + (end - i), y + i);
  }
}

template <int W, typename T>
DDIM_INLINE void backward_range(const T* x, const T* dy, T* dx, int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + W <= end; i += W) backward_vec<W>(x + i, dy + i, dx + i);
  if (i < end) {
    T a[W] = {}, g[W] = {}, b[W];
    std::copy(x + i, x + end, a);
    std::copy(dy + i, dy + end, g);
    backward_vec<W>(a, g, b);
    std::copy(b, b + (end - i), dx + i);
  }
}

DDIM_BOTH_LEVELS(forward_range, (const T* x, T* y, int64_t b, int64_t e), (x, y, b, e))
DDIM_BOTH_LEVELS(backward_range, (const T* x, const T* dy, T* dx, int64_t b, int64_t e), (x, dy, dx, b, e))

// f(begin, end) over [0, n) in blocks of kBlock, on LibTorch's threads.
template <typename F>
void over_blocks(int64_t n, const F& f) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) { f(b0 * kBlock, std::min(n, b1 * kBlock)); });
}

template <typename T>
torch::Tensor forward_kernel(const torch::Tensor& x) {
  auto y = torch::empty_like(x);
  const T* px = data<T>(x);
  T* py = data<T>(y);
  const bool avx512 = wide();
  over_blocks(x.numel(), [&](int64_t b, int64_t e) {
    avx512 ? forward_range_avx512<T>(px, py, b, e) : forward_range_avx2<T>(px, py, b, e);
  });
  return y;
}

template <typename T>
torch::Tensor backward_kernel(const torch::Tensor& x, const torch::Tensor& dy) {
  auto dx = torch::empty_like(x);
  const T *px = data<T>(x), *pdy = data<T>(dy);
  T* pdx = data<T>(dx);
  const bool avx512 = wide();
  over_blocks(x.numel(), [&](int64_t b, int64_t e) {
    avx512 ? backward_range_avx512<T>(px, pdy, pdx, b, e) : backward_range_avx2<T>(px, pdy, pdx, b, e);
  });
  return dx;
}

torch::Tensor swish_forward(const torch::Tensor& x) {
  RECORD_FUNCTION("ddim::swish", std::vector<c10::IValue>({x}));  // seen by ddim bench --profile
  return x.scalar_type() == torch::kFloat ? forward_kernel<float>(x) : forward_kernel<uint16_t>(x);
}

torch::Tensor swish_backward(const torch::Tensor& x, const torch::Tensor& dy_any) {
  RECORD_FUNCTION("ddim::swish_backward", std::vector<c10::IValue>({x, dy_any}));
  // The gradient in x's layout, so that the two are read element for element.
  const auto dy = dy_any.to(x.scalar_type()).contiguous(x.suggest_memory_format());
  return x.scalar_type() == torch::kFloat ? backward_kernel<float>(x, dy) : backward_kernel<uint16_t>(x, dy);
}

struct SwishFunction : torch::autograd::Function<SwishFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});
    return swish_forward(x);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto x = ctx->get_saved_variables()[0];
    if (torch::GradMode::is_enabled()) {  // a second derivative: through differentiable operations
      const auto s = torch::sigmoid(x);
      return {grads[0] * s * (1 + x * (1 - s))};
    }
    return {swish_backward(x, grads[0])};
  }
};

}  // namespace

bool swish_kernel_applies(const torch::Tensor& x) {
  return simd_kernels_take(x) &&
         (x.is_contiguous() || (x.dim() == 4 && x.is_contiguous(torch::MemoryFormat::ChannelsLast)));
}

torch::Tensor swish(const torch::Tensor& x) {
  if (!swish_kernel_applies(x)) return torch::silu(x);
  if (x.requires_grad() && torch::GradMode::is_enabled()) return SwishFunction::apply(x);
  return swish_forward(x);
}

}  // namespace ddim
