#include "ddim/core/rng.h"

namespace ddim {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  return splitmix64(splitmix64(splitmix64(seed) ^ a) ^ b);
}

at::Generator make_generator(uint64_t seed, const torch::Device& device) {
  if (device.is_cpu()) return at::detail::createCPUGenerator(seed);
  // A private copy of the device's default generator type, so that the global one is untouched.
  auto gen = at::globalContext().defaultGenerator(device).clone();
  gen.set_current_seed(seed);
  return gen;
}

torch::Tensor randn(at::IntArrayRef shape, at::Generator& gen, const torch::TensorOptions& options) {
  auto x = torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat32).device(gen.device()));
  return x.to(options.has_dtype() ? options : options.dtype(torch::kFloat32));
}

torch::Tensor rand(at::IntArrayRef shape, at::Generator& gen, const torch::TensorOptions& options) {
  auto x = torch::rand(shape, gen, torch::TensorOptions().dtype(torch::kFloat32).device(gen.device()));
  return x.to(options.has_dtype() ? options : options.dtype(torch::kFloat32));
}

torch::Tensor randperm(int64_t n, at::Generator& gen) {
  return torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64).device(gen.device()));
}

}  // namespace ddim
