// core/memory.h: freed blocks stay in the process, so reusing them does not page-fault.
#include <sys/resource.h>

#include <vector>

#include "ddim/core/memory.h"
#include "support.h"

namespace {

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// A 16 MiB block (4096 pages), written all through, freed, five times after a first one: with
// glibc's defaults the five fault 4096 pages in all (measured 2026-12-07: its threshold moves after
// the first maps afresh); retained, they reuse the first one's pages.
TEST(Memory, ARetainedBlockIsReusedWithoutPageFaults) {
#ifndef __GLIBC__
  GTEST_SKIP() << "retain_freed_memory acts on glibc's malloc";
#endif
  ddim::retain_freed_memory();
  constexpr size_t kBytes = size_t{16} << 20;
  { std::vector<char> first(kBytes, 1); }
  const long before = minor_faults();
  for (int i = 0; i < 5; ++i) {
    std::vector<char> block(kBytes, static_cast<char>(i));
    ASSERT_EQ(block[kBytes - 1], static_cast<char>(i));
  }
  EXPECT_LT(minor_faults() - before, 1000);
}

}  // namespace
