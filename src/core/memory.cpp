#include "ddim/core/memory.h"

#include <climits>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace ddim {

void retain_freed_memory() {
#ifdef __GLIBC__
  // Setting the mmap threshold also stops glibc from moving it by itself.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

}  // namespace ddim
