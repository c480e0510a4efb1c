#include "ddim/nn/loss.h"

#include "ddim/core/error.h"

namespace ddim {

template <>
const NameTable<Loss>& name_table<Loss>() {
  static const NameTable<Loss> table{"loss", {{Loss::MAE, "mae"}, {Loss::MSE, "mse"}}};
  return table;
}

torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b, Loss loss) {
  auto d = a - b;
  return loss == Loss::MAE ? d.abs().mean() : d.square().mean();
}

torch::Tensor distance_per_example(const torch::Tensor& a, const torch::Tensor& b, Loss loss) {
  auto d = (a - b).flatten(1);
  return loss == Loss::MAE ? d.abs().mean(1) : d.square().mean(1);
}

}  // namespace ddim
