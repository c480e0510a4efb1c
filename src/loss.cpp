#include "ddim/loss.h"

#include "ddim/error.h"

namespace ddim {

std::string to_string(Loss loss) { return loss == Loss::MAE ? "mae" : "mse"; }

Loss loss_from_string(const std::string& name) {
  if (name == "mae") return Loss::MAE;
  if (name == "mse") return Loss::MSE;
  DDIM_CHECK_ARG(false, "unknown loss '{}' (valid: mae, mse)", name);
  return Loss::MAE;
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
