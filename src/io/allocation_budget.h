// A bound on the memory that building something from a file may take: a checkpoint's
// metadata describes the network to build (widths, depth, timesteps), and a 10 KB file that
// claims widths of a billion would otherwise allocate until the machine runs out. While an
// AllocationBudget lives, LibTorch's CPU allocations on this thread count against it, and one
// that would exceed it throws ddim::InvalidArgument (callers add which file and key).
// Internal to the library.
#pragma once

#include <cstdint>

#include "ddim/io/tensor_io.h"

namespace ddim::detail {

class AllocationBudget {
 public:
  explicit AllocationBudget(int64_t bytes);
  ~AllocationBudget();
  AllocationBudget(const AllocationBudget&) = delete;
  AllocationBudget& operator=(const AllocationBudget&) = delete;

  int64_t left() const { return left_; }

 private:
  friend class BudgetAllocator;
  int64_t total_, left_;
  AllocationBudget* outer_;
};

/// The budget for building a network whose weights are `weights`: their size twice (the
/// network, and what its construction computes on the way) plus 64 MiB.
int64_t network_budget(const TensorDict& weights);

}  // namespace ddim::detail
