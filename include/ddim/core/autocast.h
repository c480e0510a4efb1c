// Mixed precision: bf16 autocast for a scope (training, sampling, inversion, synthesis).
// Convolutions and matrix products run in bf16, reductions and normalisations stay in fp32,
// as LibTorch's autocast lists decide. On a GPU that is the tensor cores' format; on a CPU
// with AVX512-BF16 or AMX, oneDNN runs bf16 convolutions several times faster than fp32
// (on CPUs without them it is emulated and slower). LibTorch's autocast API changed between
// 1.13 and 2.x; this guard is the one place that knows.
#pragma once

#include <torch/torch.h>

namespace ddim {

class AutocastGuard {
 public:
  /// Enables bf16 autocast for `device`'s type (CPU or CUDA) when `enabled`; restores the
  /// previous state on destruction.
  AutocastGuard(const torch::Device& device, bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

/// True when bf16 autocast is on for `device`'s type in this thread.
bool autocast_enabled(const torch::Device& device);

}  // namespace ddim
