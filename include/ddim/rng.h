// Reproducible randomness.
//
// Every random draw in ddim comes from an explicit CPU generator seeded from the user's
// `--seed` mixed with what the draw is for (a training step, an epoch's order, a batch of
// samples). Streams are thus independent of each other and of the order in which work is
// done, and a run resumed at step k draws exactly what the uninterrupted run drew. Noise is
// drawn on the CPU and then moved, so CPU and GPU runs start from the same numbers.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdint>

namespace ddim {

/// SplitMix64 finaliser: a well-mixed 64-bit value from any 64-bit input.
uint64_t splitmix64(uint64_t x);

/// A seed for the stream (seed, a, b): different tuples give independent streams.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

/// A CPU generator (Mersenne Twister) seeded with `seed`.
at::Generator make_generator(uint64_t seed);

/// Standard-normal noise of `shape`, drawn on the CPU from `gen`, returned with `options`
/// (device and dtype).
torch::Tensor randn(at::IntArrayRef shape, at::Generator& gen, const torch::TensorOptions& options = {});

/// Uniform [0, 1) values of `shape`, drawn on the CPU from `gen`.
torch::Tensor rand(at::IntArrayRef shape, at::Generator& gen, const torch::TensorOptions& options = {});

/// A random permutation of 0..n-1 (int64, CPU) from `gen`.
torch::Tensor randperm(int64_t n, at::Generator& gen);

}  // namespace ddim
