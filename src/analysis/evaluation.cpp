#include "ddim/analysis/evaluation.h"

#include "ddim/core/error.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/metrics/frechet.h"
#include "ddim/metrics/metrics.h"

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
  j["feature_distance"] = feature_distance;
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
  f.feature_distance = unit_feature_distance(f_orig, f_rec).mean().item<double>();
  return f;
}

nlohmann::ordered_json EditScores::summary() const {
  nlohmann::ordered_json j;
  j["mse"] = mse.mean().item<double>();
  j["ssim"] = ssim.mean().item<double>();
  if (feature_distance.defined()) {
    j["feature_distance"] = feature_distance.mean().item<double>();
    j["target_probability"] = target_probability.mean().item<double>();
    j["success_rate"] = success.to(torch::kFloat64).mean().item<double>();
  }
  if (truth_mse.defined()) {
    j["truth_mse"] = truth_mse.mean().item<double>();
    j["truth_ssim"] = truth_ssim.mean().item<double>();
    if (truth_feature_distance.defined())
      j["truth_feature_distance"] = truth_feature_distance.mean().item<double>();
  }
  return j;
}

nlohmann::ordered_json EditScores::entry(int64_t i) const {
  nlohmann::ordered_json j;
  j["mse"] = mse[i].item<double>();
  j["ssim"] = ssim[i].item<double>();
  if (feature_distance.defined()) {
    j["feature_distance"] = feature_distance[i].item<double>();
    j["target_probability"] = target_probability[i].item<double>();
    j["success"] = success[i].item<bool>();
  }
  if (truth_mse.defined()) {
    j["truth_mse"] = truth_mse[i].item<double>();
    j["truth_ssim"] = truth_ssim[i].item<double>();
    if (truth_feature_distance.defined())
      j["truth_feature_distance"] = truth_feature_distance[i].item<double>();
  }
  return j;
}

EditScores score_edits(const torch::Tensor& originals, const torch::Tensor& edits,
                       const torch::Tensor& targets, const LoadedClassifier* classifier) {
  DDIM_CHECK_ARG(originals.dim() == 4 && originals.sizes() == edits.sizes() && originals.size(0) > 0,
                 "originals {} and edits {} must correspond one to one", fmt::join(originals.sizes(), "x"),
                 fmt::join(edits.sizes(), "x"));
  DDIM_CHECK_ARG(targets.dim() == 1 && targets.size(0) == originals.size(0), "{} targets for {} images",
                 targets.numel(), originals.size(0));
  EditScores s;
  s.mse = mse_per_image(originals, edits);
  s.ssim = ssim_per_image(originals, edits);
  if (!classifier) return s;
  auto fit = [&](const torch::Tensor& x) {
    std::vector<torch::Tensor> v;
    for (int64_t i = 0; i < x.size(0); ++i) v.push_back(x[i]);
    return conform_images(v, classifier->data);
  };
  auto& net = *classifier->network;
  torch::NoGradGuard no_grad;
  net.eval();
  const auto device = net.parameters().front().device();
  const auto a = fit(originals).to(device), b = fit(edits).to(device);
  const auto fa = net.features(a).to(torch::kFloat64), fb = net.features(b).to(torch::kFloat64);
  s.feature_distance = unit_feature_distance(fa, fb).to(torch::kCPU);
  const auto logits = net.forward(b).to(torch::kCPU, torch::kFloat64);
  const auto t = targets.to(torch::kInt64);
  DDIM_CHECK_ARG(t.max().item<int64_t>() < logits.size(1),
                 "target class {} is beyond the classifier's {} classes", t.max().item<int64_t>(),
                 logits.size(1));
  s.target_probability = torch::softmax(logits, 1).gather(1, t.view({-1, 1})).squeeze(1);
  s.success = logits.argmax(1) == t;
  return s;
}

void score_against_truth(EditScores& s, const torch::Tensor& edits, const torch::Tensor& truth,
                         const LoadedClassifier* classifier) {
  DDIM_CHECK_ARG(edits.dim() == 4 && edits.sizes() == truth.sizes() && edits.size(0) > 0,
                 "edits {} and their true edits {} must correspond one to one", fmt::join(edits.sizes(), "x"),
                 fmt::join(truth.sizes(), "x"));
  s.truth_mse = mse_per_image(truth, edits);
  s.truth_ssim = ssim_per_image(truth, edits);
  if (!classifier) return;
  std::vector<torch::Tensor> a, b;
  for (int64_t i = 0; i < edits.size(0); ++i) {
    a.push_back(truth[i]);
    b.push_back(edits[i]);
  }
  s.truth_feature_distance = feature_distance(*classifier->network, conform_images(a, classifier->data),
                                              conform_images(b, classifier->data))
                                 .to(torch::kFloat64);
}

}  // namespace ddim
