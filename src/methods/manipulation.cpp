#include "ddim/methods/manipulation.h"

#include "ddim/core/error.h"
#include "ddim/diffusion/pipeline.h"

namespace ddim {

torch::Tensor AttributeDirection::probability(const torch::Tensor& codes) const {
  return torch::softmax(probe.logits(codes), 1).select(1, 1);
}

nlohmann::ordered_json AttributeDirection::to_json() const {
  return {{"auroc", auroc}, {"accuracy", accuracy}};
}

AttributeDirection fit_attribute_direction(const torch::Tensor& codes, const torch::Tensor& positive,
                                           const torch::Tensor& test_codes,
                                           const torch::Tensor& test_positive, const ProbeOptions& options) {
  const auto y = positive.to(torch::kInt64);
  DDIM_CHECK_ARG(y.sum().item<int64_t>() > 0 && y.sum().item<int64_t>() < y.size(0),
                 "the training codes need examples with and without the attribute ({} of {} have it)",
                 y.sum().item<int64_t>(), y.size(0));
  AttributeDirection a;
  a.probe = fit_linear_probe(codes, y, 2, options);
  // With two classes the logit difference is linear along W1 - W0.
  const auto w = a.probe.weight[1] - a.probe.weight[0];
  a.direction = w / w.norm();
  const auto logits = a.probe.logits(test_codes);
  a.auroc = auroc(logits.select(1, 1) - logits.select(1, 0), test_positive.to(torch::kBool));
  a.accuracy = a.probe.accuracy(test_codes, test_positive);
  return a;
}

Manipulation manipulate_attribute(const Denoiser& d, const Embedding& e, const AttributeDirection& a,
                                  const std::vector<double>& scales, const TimeGrid& grid, int64_t batch) {
  DDIM_CHECK_ARG(e.codes.defined(),
                 "attribute manipulation needs the semantic codes of a diffusion autoencoder");
  DDIM_CHECK_ARG(!scales.empty(), "no scales to move the codes by");
  Manipulation m;
  m.scales = scales;
  const auto& p = a.probe;
  const auto z = (e.codes - p.mean) / p.std;
  for (double s : scales) {
    const auto moved = (z + s * a.direction) * p.std + p.mean;
    const auto images = generate(d, e.seeds, grid, {}, batch, {}, moved);
    // Does the decoded image carry the attribute more? Encode it again and score it.
    m.probability.push_back(a.probability(semantic_codes(d, images, batch)).mean().item<double>());
    m.images.push_back(d.data().crop(images));
  }
  return m;
}

}  // namespace ddim
