// Reproducible randomness.
//
// Every random draw in ddim comes from an explicit CPU generator seeded from the user's
// `--seed` mixed with what the draw is for (a training step, an epoch's order, a batch of
// samples). Streams are thus independent of each other and of the order in which work is
// done, and a run resumed at step k draws exactly what the uninterrupted run drew.
// Seeds of samples are drawn on the CPU and then moved, so that a seed number gives the same
// image on any device; training noise is drawn on the training device (no transfers in the
// hot loop): reproducible on that device, other numbers than on the CPU.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdint>

namespace ddim {

/// SplitMix64 finaliser: a well-mixed 64-bit value from any 64-bit input.
uint64_t splitmix64(uint64_t x);

/// A seed for the stream (seed, a, b): different tuples give independent streams.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0);

/// A generator seeded with `seed`: Mersenne Twister on the CPU, Philox on a GPU.
at::Generator make_generator(uint64_t seed, const torch::Device& device = torch::kCPU);

/// Standard-normal noise of `shape` drawn from `gen` on the generator's device, returned with
/// `options` (device and dtype).
torch::Tensor randn(at::IntArrayRef shape, at::Generator& gen, const torch::TensorOptions& options = {});

/// Uniform [0, 1) values of `shape` drawn from `gen` on the generator's device.
torch::Tensor rand(at::IntArrayRef shape, at::Generator& gen, const torch::TensorOptions& options = {});

/// A random permutation of 0..n-1 (int64, CPU) from `gen`.
torch::Tensor randperm(int64_t n, at::Generator& gen);

}  // namespace ddim
