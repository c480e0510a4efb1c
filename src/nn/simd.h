// ddim's own CPU kernels (nn/winograd.h, nn/swish.h, nn/batch_norm.h) are written once, on GCC's
// vector types of W floats, and compiled twice: inlined into functions built for AVX-512 (W = 16)
// and for AVX2 with FMA (W = 8), of which the CPU picks one at run time (winograd_simd_levels).
// Those files are compiled with -ffp-contract=fast, so a * b + c is an FMA. A private header: the
// helpers have internal linkage, so that each file's copies keep its own flags.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <cstring>

#include "ddim/nn/winograd.h"

namespace ddim {
namespace {

#define DDIM_INLINE inline __attribute__((always_inline))

template <int W>
struct Simd;
template <>
struct Simd<1> {  // scalar tails
  using F = float;
};
template <>
struct Simd<8> {
  typedef float F __attribute__((vector_size(32)));
  typedef int32_t I __attribute__((vector_size(32)));
  typedef uint32_t U __attribute__((vector_size(32)));
  typedef uint16_t H __attribute__((vector_size(16)));
};
template <>
struct Simd<16> {
  typedef float F __attribute__((vector_size(64)));
  typedef int32_t I __attribute__((vector_size(64)));
  typedef uint32_t U __attribute__((vector_size(64)));
  typedef uint16_t H __attribute__((vector_size(32)));
};
template <int W>
using Vec = typename Simd<W>::F;
template <int W>
using IVec = typename Simd<W>::I;

template <int W>
DDIM_INLINE Vec<W> load(const float* p) {
  Vec<W> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int W>
DDIM_INLINE void store(float* p, Vec<W> v) {
  std::memcpy(p, &v, sizeof v);
}
template <int W>
DDIM_INLINE Vec<W> splat(float s) {
  return Vec<W>{} + s;
}

// bf16 is the top half of an fp32: widening is a shift; narrowing rounds to nearest even (a NaN
// stays a quiet NaN), as LibTorch's conversion does.
template <int W>
DDIM_INLINE Vec<W> load(const uint16_t* p) {
  typename Simd<W>::H h;
  std::memcpy(&h, p, sizeof h);
  const auto u = __builtin_convertvector(h, typename Simd<W>::U) << 16;
  Vec<W> v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}
template <int W>
DDIM_INLINE void store(uint16_t* p, Vec<W> v) {
  using U = typename Simd<W>::U;
  U u;
  std::memcpy(&u, &v, sizeof u);
  U r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  r = (v != v) ? U{} + 0x7FC0u : r;
  const auto h = __builtin_convertvector(r, typename Simd<W>::H);
  std::memcpy(p, &h, sizeof h);
}

DDIM_INLINE float to_float(float x) { return x; }
DDIM_INLINE float to_float(uint16_t x) {
  const uint32_t u = uint32_t{x} << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
DDIM_INLINE void from_float(float* p, float x) { *p = x; }
DDIM_INLINE void from_float(uint16_t* p, float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  *p = x != x ? uint16_t{0x7FC0} : static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

// e^x to about 2 ulp (Cephes' expf: x = n ln 2 + f, |f| <= ln 2 / 2, a degree-6 polynomial for
// e^f, 2^n by the exponent bits), for |x| clamped to where 2^n stays a normal float.
template <int W>
DDIM_INLINE Vec<W> exp_of(Vec<W> x) {
  const Vec<W> hi = splat<W>(88.f), lo = splat<W>(-87.f);
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  const Vec<W> n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round(x / ln 2)
  const Vec<W> f = x - n * 0.693359375f + n * 2.12194440e-4f;             // ln 2 in two parts
  Vec<W> p = f * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * f + 8.3334519073e-3f;
  p = p * f + 4.1665795894e-2f;
  p = p * f + 1.6666665459e-1f;
  p = p * f + 5.0000001201e-1f;
  p = p * (f * f) + f + 1.f;
  const IVec<W> bits = (__builtin_convertvector(n, IVec<W>) + 127) << 23;
  Vec<W> scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// f_avx512 and f_avx2: the kernel template f<W, T> compiled for each instruction set.
#define DDIM_BOTH_LEVELS(name, params, args)                         \
  template <typename T>                                              \
  __attribute__((target("avx512f,fma"))) void name##_avx512 params { \
    name<16, T> args;                                                \
  }                                                                  \
  template <typename T>                                              \
  __attribute__((target("avx2,fma"))) void name##_avx2 params {      \
    name<8, T> args;                                                 \
  }

// AVX-512 when the CPU runs it, asked each time: ATEN_CPU_CAPABILITY=avx2 in the environment
// selects the AVX2 kernels (the tests' way).
inline bool wide() { return winograd_simd_levels().front() == SimdLevel::Avx512; }

// Whether the elementwise and per-channel kernels (swish, the norms) take x: this CPU has one of
// the instruction sets, and x is an fp32 or bf16 tensor on the CPU.
inline bool simd_kernels_take(const torch::Tensor& x) {
  return !winograd_simd_levels().empty() && x.defined() && x.device().is_cpu() &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16);
}

// The data of an fp32 (T = float) or bf16 (T = uint16_t, its bits) tensor.
template <typename T>
T* data(const torch::Tensor& t) {
  return reinterpret_cast<T*>(t.data_ptr());
}

}  // namespace
}  // namespace ddim
