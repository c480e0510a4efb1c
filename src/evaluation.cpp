#include "ddim/evaluation.h"

#include "ddim/error.h"
#include "ddim/frechet.h"

namespace ddim {
namespace {
double agreement(const torch::Tensor& a, const torch::Tensor& b) {
  return (a == b.to(a.dtype())).to(torch::kFloat64).mean().item<double>();
}
}  // namespace

nlohmann::ordered_json SampleQuality::to_json(const DataInfo& data) const {
  nlohmann::ordered_json j;
  j["samples"] = samples;
  j["references"] = references;
  j["frechet_distance"] = frechet_distance;
  nlohmann::ordered_json dist = nlohmann::ordered_json::object();
  for (int64_t k = 0; k < class_fractions.size(0); ++k)
    dist[data.class_name(k)] = class_fractions[k].item<double>();
  j["class_distribution"] = dist;
  if (reference_accuracy) j["classifier_accuracy_on_reference"] = *reference_accuracy;
  return j;
}

SampleQuality sample_quality(Classifier& c, const torch::Tensor& samples, const torch::Tensor& reference,
                             const torch::Tensor& reference_labels) {
  DDIM_CHECK_ARG(samples.size(0) >= 2 && reference.size(0) >= 2,
                 "a Fréchet distance needs at least two samples and two reference images, got {} and {}",
                 samples.size(0), reference.size(0));
  const auto [p_s, f_s] = classify(c, samples);
  const auto [p_r, f_r] = classify(c, reference);
  SampleQuality q;
  q.samples = samples.size(0);
  q.references = reference.size(0);
  q.frechet_distance = frechet_distance(f_s, f_r);
  q.class_fractions =
      torch::bincount(p_s, {}, c.options().classes).to(torch::kFloat64) / static_cast<double>(q.samples);
  if (reference_labels.defined()) q.reference_accuracy = agreement(p_r, reference_labels);
  return q;
}

nlohmann::ordered_json Faithfulness::to_json() const {
  nlohmann::ordered_json j;
  j["images"] = images;
  j["class_kept"] = class_kept;
  if (accuracy_on_originals) j["accuracy_on_originals"] = *accuracy_on_originals;
  if (accuracy_on_reconstructions) j["accuracy_on_reconstructions"] = *accuracy_on_reconstructions;
  if (frechet_distance) j["frechet_distance_to_originals"] = *frechet_distance;
  return j;
}

Faithfulness reconstruction_faithfulness(Classifier& c, const torch::Tensor& originals,
                                         const torch::Tensor& reconstructions, const torch::Tensor& labels) {
  DDIM_CHECK_ARG(originals.sizes() == reconstructions.sizes() && originals.size(0) > 0,
                 "originals {} and reconstructions {} must correspond one to one",
                 fmt::join(originals.sizes(), "x"), fmt::join(reconstructions.sizes(), "x"));
  const auto [p_orig, f_orig] = classify(c, originals);
  const auto [p_rec, f_rec] = classify(c, reconstructions);
  Faithfulness f;
  f.images = originals.size(0);
  f.class_kept = agreement(p_orig, p_rec);
  if (labels.defined()) {
    DDIM_CHECK_ARG(labels.size(0) == f.images, "{} labels for {} images", labels.size(0), f.images);
    f.accuracy_on_originals = agreement(p_orig, labels);
    f.accuracy_on_reconstructions = agreement(p_rec, labels);
  }
  if (f.images >= 2) f.frechet_distance = frechet_distance(f_rec, f_orig);
  return f;
}

}  // namespace ddim
