#include "ddim/core/autocast.h"

#include <ATen/autocast_mode.h>

namespace ddim {

#if (TORCH_VERSION_MAJOR > 2) || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define DDIM_AUTOCAST_NEW_API 1
#endif

namespace {

bool is_enabled(bool cuda) {
#ifdef DDIM_AUTOCAST_NEW_API
  return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_enabled(bool cuda, bool on) {
#ifdef DDIM_AUTOCAST_NEW_API
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
#else
  if (cuda)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
#endif
}

at::ScalarType get_dtype(bool cuda) {
#ifdef DDIM_AUTOCAST_NEW_API
  return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU);
#else
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_dtype(bool cuda, at::ScalarType dtype) {
#ifdef DDIM_AUTOCAST_NEW_API
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype);
#else
  if (cuda)
    at::autocast::set_autocast_gpu_dtype(dtype);
  else
    at::autocast::set_autocast_cpu_dtype(dtype);
#endif
}

}  // namespace

AutocastGuard::AutocastGuard(const torch::Device& device, bool enabled) {
  if (!enabled || !(device.is_cuda() || device.is_cpu())) return;
  cuda_ = device.is_cuda();
  previous_ = is_enabled(cuda_);
  previous_dtype_ = get_dtype(cuda_);
  set_dtype(cuda_, at::kBFloat16);
  set_enabled(cuda_, true);
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // Autocast caches the bf16 copies of weights for the outermost scope; drop them on leaving
  // it so that updated weights are recast next time.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_enabled(cuda_, previous_);
  set_dtype(cuda_, previous_dtype_);
}

bool autocast_enabled(const torch::Device& device) {
  if (device.is_cuda()) return is_enabled(true);
  if (device.is_cpu()) return is_enabled(false);
  return false;
}

}  // namespace ddim
