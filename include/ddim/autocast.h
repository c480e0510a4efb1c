// Mixed precision: bf16 autocast on CUDA for a scope (training, sampling, synthesis).
// On the CPU it does nothing. LibTorch's autocast API changed between 1.13 and 2.x; this
// guard is the one place that knows.
#pragma once

#include <torch/torch.h>

namespace ddim {

class AutocastGuard {
 public:
  /// Enables bf16 autocast for `device` when `enabled` and the device is a GPU.
  AutocastGuard(const torch::Device& device, bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
  bool previous_ = false;
};

}  // namespace ddim
