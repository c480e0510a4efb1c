#include "ddim/data/group_sampler.h"

#include <algorithm>

#include "ddim/core/error.h"
#include "ddim/core/rng.h"

namespace ddim {

namespace {
// Random streams of group sampling (rng.h: mix_seed(seed, stream, step)); 1-6 are the
// trainers' (data order, noise, dropout, previews, validation, initial weights).
constexpr uint64_t kGroupStream = 0x67a1, kReassemblyStream = 0x67a2;
}  // namespace

// ------------------------------------------------------------------ GROUP sampling

GroupSampler::GroupSampler(const std::vector<torch::Tensor>& labels, uint64_t seed) : seed_(seed) {
  for (const auto& l : labels) {
    DDIM_CHECK_ARG(l.dim() == 1 && l.size(0) > 0 && (labels_.empty() || l.size(0) == labels_[0].size(0)),
                   "group sampling needs one label per example for every attribute");
    auto y = l.to(torch::kInt64).cpu().contiguous();
    DDIM_CHECK_ARG(y.min().item<int64_t>() >= 0, "attribute labels must not be negative");
    const auto sorted = y.sort(/*stable=*/true, 0, false);
    const auto counts = torch::bincount(y);
    labels_.push_back(y);
    by_value_.push_back(std::get<1>(sorted).contiguous());
    starts_.push_back(torch::cat({torch::zeros({1}, torch::kInt64), counts.cumsum(0)}));
  }
  for (auto& order : by_value_) {
    // The position of each example in its value's run, to skip the centre itself.
    auto pos = torch::empty_like(order);
    pos.index_put_({order}, torch::arange(order.size(0), torch::kInt64));
    positions_.push_back(pos);
  }
}

torch::Tensor GroupSampler::members(const torch::Tensor& centres, int64_t step, int64_t world,
                                    int64_t rank) const {
  const int64_t b = centres.size(0), m = attributes();
  DDIM_CHECK_ARG(world >= 1 && rank >= 0 && rank < world, "rank {} of {} processes", rank, world);
  auto gen = make_generator(mix_seed(seed_, kGroupStream, static_cast<uint64_t>(step)));
  const auto u = rand({b * world, std::max<int64_t>(m, 1)}, gen).to(torch::kFloat64).narrow(0, rank * b, b);
  const auto c = centres.to(torch::kInt64).cpu();
  std::vector<torch::Tensor> out;
  for (int64_t j = 0; j < m; ++j) {
    const auto v = labels_[j].index_select(0, c);
    const auto start = starts_[j].index_select(0, v);
    const auto count = starts_[j].index_select(0, v + 1) - start;
    const auto own = positions_[j].index_select(0, c) - start;
    // Uniform among the other examples of the value (the centre itself when it is alone).
    auto r = (u.select(1, j) * (count - 1).clamp_min(0).to(torch::kFloat64)).floor().to(torch::kInt64);
    r = torch::where(count > 1, r + (r >= own).to(torch::kInt64), torch::zeros_like(r));
    out.push_back(by_value_[j].index_select(0, start + r));
  }
  if (out.empty()) return torch::zeros({b, 0}, torch::kInt64);
  return torch::stack(out, 1);
}

torch::Tensor GroupSampler::reassembly(int64_t batch, int64_t parts, int64_t step) const {
  DDIM_CHECK_ARG(batch > 0 && parts > 0, "a reassembly needs a batch and parts, got {} and {}", batch, parts);
  auto gen = make_generator(mix_seed(seed_, kReassemblyStream, static_cast<uint64_t>(step)));
  std::vector<torch::Tensor> cols;
  for (int64_t k = 0; k < parts; ++k) cols.push_back(randperm(batch, gen));
  return torch::stack(cols, 1);
}

}  // namespace ddim
