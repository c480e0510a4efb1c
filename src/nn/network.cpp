#include "ddim/nn/network.h"

#include <cmath>

#include "ddim/core/error.h"
#include "ddim/nn/diffae.h"
#include "ddim/nn/mlp.h"
#include "ddim/nn/unet.h"

namespace ddim {

torch::Tensor sinusoidal_frequencies(int64_t dims, double max_frequency,
                                     const torch::TensorOptions& options) {
  return torch::exp(torch::linspace(std::log(1.0), std::log(max_frequency), dims / 2, options));
}

torch::Tensor sinusoidal_embedding(const torch::Tensor& v, int64_t dims, double max_frequency) {
  const int64_t half = dims / 2;
  // Angles reach 2*pi*1000: in bf16 (8 significant bits) they would be off by whole turns,
  // so the embedding is computed in fp32 (or fp64) whatever dtype arrives under autocast.
  const auto u = v.scalar_type() == torch::kDouble ? v : v.to(torch::kFloat);
  auto freqs = sinusoidal_frequencies(dims, max_frequency, u.options());
  auto angles = 2.0 * M_PI * u.reshape({-1, 1}) * freqs.view({1, half});
  return torch::cat({torch::sin(angles), torch::cos(angles)}, 1);
}

template <>
const NameTable<NetworkKind>& name_table<NetworkKind>() {
  static const NameTable<NetworkKind> table{
      "network kind",
      {{NetworkKind::UNet, "unet"}, {NetworkKind::MLP, "mlp"}, {NetworkKind::DiffAE, "diffae"}}};
  return table;
}

std::shared_ptr<EpsNetwork> make_network(const nlohmann::json& d) {
  DDIM_CHECK_ARG(d.is_object() && d.contains("kind") && d.at("kind").is_string(),
                 "a network description needs a 'kind'");
  switch (from_string<NetworkKind>(d.at("kind").get<std::string>())) {
    case NetworkKind::UNet:
      return std::make_shared<UNet>(UNetOptions::from_json(d));
    case NetworkKind::MLP:
      return std::make_shared<MLP>(MLPOptions::from_json(d));
    case NetworkKind::DiffAE:
      return std::make_shared<DiffAE>(DiffAEOptions::from_json(d));
  }
  return nullptr;
}

torch::Tensor class_condition(const torch::Tensor& labels, int64_t classes) {
  DDIM_CHECK_ARG(classes >= 2, "class conditions need at least two classes, got {}", classes);
  DDIM_CHECK_ARG(labels.dim() == 1, "class labels must be a vector [N], got {}",
                 fmt::join(labels.sizes(), "x"));
  auto l = labels.to(torch::kInt64);
  if (l.numel() > 0)
    DDIM_CHECK_ARG(l.max().item<int64_t>() <= classes, "class label {} is beyond the {} classes",
                   l.max().item<int64_t>(), classes);
  l = torch::where(l < 0, torch::full_like(l, classes), l);
  return torch::one_hot(l, classes + 1).to(torch::kFloat);
}

torch::Tensor null_condition(int64_t n, int64_t classes) {
  return class_condition(torch::full({n}, classes, torch::kInt64), classes);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace ddim
