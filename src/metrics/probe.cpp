#include "ddim/metrics/probe.h"

#include <cmath>

#include "ddim/core/error.h"

namespace ddim {

torch::Tensor LinearProbe::logits(const torch::Tensor& features) const {
  torch::NoGradGuard no_grad;
  auto z = (features.to(torch::kFloat32) - mean) / std;
  return z.matmul(weight.t()) + bias;
}

torch::Tensor LinearProbe::predict(const torch::Tensor& features) const { return logits(features).argmax(1); }

double LinearProbe::accuracy(const torch::Tensor& features, const torch::Tensor& labels) const {
  return (predict(features) == labels.to(torch::kInt64)).to(torch::kFloat64).mean().item<double>();
}

double LinearProbe::perplexity(const torch::Tensor& features, const torch::Tensor& labels) const {
  auto ce = torch::nn::functional::cross_entropy(logits(features), labels.to(torch::kInt64));
  return std::exp(ce.item<double>());
}

LinearProbe fit_linear_probe(const torch::Tensor& features, const torch::Tensor& labels, int64_t classes,
                             const ProbeOptions& o) {
  DDIM_CHECK_ARG(
      features.dim() == 2 && labels.dim() == 1 && features.size(0) == labels.size(0) && features.size(0) > 0,
      "a probe needs features [N, D] and labels [N], got {} and {}", fmt::join(features.sizes(), "x"),
      fmt::join(labels.sizes(), "x"));
  DDIM_CHECK_ARG(classes >= 2, "a probe needs at least two classes, got {}", classes);
  DDIM_CHECK_ARG(o.iterations > 0 && o.lr > 0 && o.l2 >= 0, "bad probe options: {} iterations, lr {}, l2 {}",
                 o.iterations, o.lr, o.l2);
  const auto y = labels.to(torch::kInt64);
  DDIM_CHECK_ARG(y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < classes,
                 "probe labels must be in [0, {}), got [{}, {}]", classes, y.min().item<int64_t>(),
                 y.max().item<int64_t>());
  // The fit needs gradients even when the caller works under torch::NoGradGuard.
  torch::AutoGradMode enable_grad(true);
  LinearProbe p;
  const auto x = features.to(torch::kFloat32);
  p.mean = x.mean(0);
  p.std = x.std(0).clamp_min(1e-6);
  const auto z = (x - p.mean) / p.std;
  auto w = torch::zeros({classes, x.size(1)}, torch::requires_grad());
  auto b = torch::zeros({classes}, torch::requires_grad());
  torch::optim::Adam adam({w, b}, torch::optim::AdamOptions(o.lr));
  for (int64_t it = 0; it < o.iterations; ++it) {
    auto loss = torch::nn::functional::cross_entropy(z.matmul(w.t()) + b, y) + o.l2 * w.square().sum();
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  p.weight = w.detach();
  p.bias = b.detach();
  return p;
}

double auroc(const torch::Tensor& scores, const torch::Tensor& positive) {
  DDIM_CHECK_ARG(scores.dim() == 1 && scores.sizes() == positive.sizes(),
                 "AUROC needs scores [N] and labels [N]");
  auto order = std::get<1>(scores.to(torch::kFloat64).sort());
  auto ranks = torch::empty({scores.size(0)}, torch::kFloat64);
  ranks.index_put_({order}, torch::arange(1, scores.size(0) + 1, torch::kFloat64));
  const auto pos = positive.to(torch::kFloat64);
  const double p = pos.sum().item<double>(), n = static_cast<double>(positive.size(0)) - p;
  if (p == 0 || n == 0) return NAN;
  return ((ranks * pos).sum().item<double>() - p * (p + 1) / 2) / (p * n);
}

}  // namespace ddim
