#include "ddim/data/normalization.h"

#include "ddim/core/error.h"
#include "ddim/data/dataset.h"

namespace ddim {
namespace {

torch::Tensor broadcastable(const torch::Tensor& stat, const torch::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[1] = stat.size(0);
  return stat.to(like.device(), like.scalar_type()).view(shape);
}

// Accumulates per-channel sums over chunks of [N, C, ...].
struct Moments {
  torch::Tensor sum, sum_sq;
  double count = 0;
  void add(const torch::Tensor& chunk) {
    auto x = chunk.to(torch::kFloat64).transpose(0, 1).reshape({chunk.size(1), -1});
    auto s = x.sum(1), s2 = (x * x).sum(1);
    sum = sum.defined() ? sum + s : s;
    sum_sq = sum_sq.defined() ? sum_sq + s2 : s2;
    count += static_cast<double>(x.size(1));
  }
  Standardizer finish() const {
    DDIM_CHECK(count > 0, "cannot compute statistics of an empty data set");
    auto mean = sum / count;
    auto var = (sum_sq / count - mean * mean).clamp_min(0.0);
    auto std = var.sqrt();
    std = torch::where(std > 1e-8, std, torch::ones_like(std));
    return {mean.to(torch::kFloat32), std.to(torch::kFloat32)};
  }
};

}  // namespace

Standardizer Standardizer::fit(const Dataset& data) {
  Moments m;
  constexpr int64_t kChunk = 4096;
  for (int64_t i = 0; i < data.size(); i += kChunk) m.add(data.slice(i, std::min(data.size(), i + kChunk)));
  return m.finish();
}

Standardizer Standardizer::fit(const torch::Tensor& data) {
  DDIM_CHECK_ARG(data.dim() >= 2, "statistics need a batch [N, C, ...]");
  Moments m;
  m.add(data);
  return m.finish();
}

Standardizer Standardizer::identity(int64_t channels) {
  return {torch::zeros({channels}), torch::ones({channels})};
}

torch::Tensor Standardizer::standardize(const torch::Tensor& x) const {
  DDIM_CHECK_ARG(x.dim() >= 2 && x.size(1) == mean.size(0),
                 "data with {} channels does not match statistics for {} channels",
                 x.dim() >= 2 ? x.size(1) : 0, mean.size(0));
  return (x - broadcastable(mean, x)) / broadcastable(std, x);
}

torch::Tensor Standardizer::destandardize(const torch::Tensor& x) const {
  DDIM_CHECK_ARG(x.dim() >= 2 && x.size(1) == mean.size(0),
                 "data with {} channels does not match statistics for {} channels",
                 x.dim() >= 2 ? x.size(1) : 0, mean.size(0));
  return x * broadcastable(std, x) + broadcastable(mean, x);
}

}  // namespace ddim
