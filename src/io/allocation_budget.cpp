#include "io/allocation_budget.h"

#include <c10/core/CPUAllocator.h>
#include <algorithm>

#include <limits>
#include <mutex>

#include "ddim/core/error.h"

namespace ddim::detail {
namespace {
thread_local AllocationBudget* t_budget = nullptr;
}  // namespace

// Wraps LibTorch's CPU allocator; the blocks it hands out are the wrapped allocator's, with
// its deleter, so they stay valid whatever is installed later.
class BudgetAllocator final : public c10::Allocator {
 public:
  explicit BudgetAllocator(c10::Allocator* base) : base_(base) {}
  c10::DataPtr allocate(size_t n) const override {
    if (AllocationBudget* b = t_budget) {
      if (n > static_cast<size_t>(std::max<int64_t>(b->left_, 0)))
        throw InvalidArgument(
            fmt::format("it describes something larger than the {} bytes its weights account "
                        "for",
                        b->total_),
            DDIM_WHERE_);
      b->left_ -= static_cast<int64_t>(n);
    }
    return base_->allocate(n);
  }
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }

 private:
  c10::Allocator* base_;
};

AllocationBudget::AllocationBudget(int64_t bytes) : total_(bytes), left_(bytes), outer_(t_budget) {
  static std::once_flag installed;
  std::call_once(installed, [] {
    static BudgetAllocator allocator(c10::GetCPUAllocator());
    c10::SetCPUAllocator(&allocator, /*priority=*/std::numeric_limits<uint8_t>::max());
  });
  t_budget = this;
}

int64_t network_budget(const TensorDict& weights) {
  int64_t bytes = 0;
  // Networks compute in fp32 whatever the file stores (a release may hold fp16 or bf16 weights).
  for (const auto& [name, t] : weights)
    bytes +=
        t.numel() * std::max<int64_t>(static_cast<int64_t>(t.element_size()), t.is_floating_point() ? 4 : 1);
  return 2 * bytes + (int64_t{64} << 20);
}

AllocationBudget::~AllocationBudget() {
  t_budget = outer_;
  if (outer_ != nullptr) outer_->left_ -= total_ - left_;
}

}  // namespace ddim::detail
