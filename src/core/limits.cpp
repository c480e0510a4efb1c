#include "ddim/core/limits.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace ddim {
namespace {
std::atomic<int64_t> g_max_image_pixels{InputLimits{}.max_image_pixels};
std::atomic<int64_t> g_max_bytes{0};
}  // namespace

int64_t default_max_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  const int64_t physical = pages > 0 && page > 0 ? int64_t{pages} * page : int64_t{8} << 30;
  return std::clamp<int64_t>(physical / 2, int64_t{1} << 30, int64_t{16} << 30);
}

InputLimits input_limits() {
  InputLimits l;
  l.max_image_pixels = g_max_image_pixels.load();
  l.max_bytes = g_max_bytes.load();
  if (l.max_bytes <= 0) l.max_bytes = default_max_bytes();
  return l;
}

void set_input_limits(const InputLimits& l) {
  g_max_image_pixels = l.max_image_pixels > 0 ? l.max_image_pixels : InputLimits{}.max_image_pixels;
  g_max_bytes = l.max_bytes > 0 ? l.max_bytes : 0;
}

}  // namespace ddim
