#include "ddim/autocast.h"

#include <ATen/autocast_mode.h>

namespace ddim {

#if (TORCH_VERSION_MAJOR > 2) || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define DDIM_AUTOCAST_NEW_API 1
#endif

AutocastGuard::AutocastGuard(const torch::Device& device, bool enabled) {
  if (!enabled || !device.is_cuda()) return;
#ifdef DDIM_AUTOCAST_NEW_API
  previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  previous_ = at::autocast::is_enabled();
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
#endif
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#ifdef DDIM_AUTOCAST_NEW_API
  at::autocast::set_autocast_enabled(at::kCUDA, previous_);
#else
  at::autocast::set_enabled(previous_);
#endif
}

}  // namespace ddim
