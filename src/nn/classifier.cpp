#include "ddim/nn/classifier.h"

#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/io/checkpoint.h"
#include "io/allocation_budget.h"

namespace ddim {

namespace nn = torch::nn;

nlohmann::json ClassifierOptions::to_json() const { return fields_to_json(*this); }

ClassifierOptions ClassifierOptions::from_json(const nlohmann::json& j) {
  return fields_from_json<ClassifierOptions>(j);
}

Classifier::Classifier(const ClassifierOptions& o) : options_(o) {
  DDIM_CHECK_ARG(o.classes >= 2, "a classifier needs at least two classes, got {}", o.classes);
  DDIM_CHECK_ARG(o.image_size % 4 == 0, "the classifier pools twice: image size {} is not divisible by 4",
                 o.image_size);
  c1_ = register_module("c1", nn::Conv2d(nn::Conv2dOptions(o.channels, 32, 3).padding(1)));
  c2_ = register_module("c2", nn::Conv2d(nn::Conv2dOptions(32, 32, 3).padding(1)));
  c3_ = register_module("c3", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
  c4_ = register_module("c4", nn::Conv2d(nn::Conv2dOptions(64, 64, 3).padding(1)));
  const int64_t side = o.image_size / 4;
  fc_ = register_module("fc", nn::Linear(64 * side * side, o.features));
  out_ = register_module("out", nn::Linear(o.features, o.classes));
  dropout_ = register_module("dropout", nn::Dropout(o.dropout));
}

torch::Tensor Classifier::features(const torch::Tensor& images) {
  auto x = (images - 0.5) / 0.5;
  x = torch::max_pool2d(torch::relu(c2_->forward(torch::relu(c1_->forward(x)))), 2);
  x = torch::max_pool2d(torch::relu(c4_->forward(torch::relu(c3_->forward(x)))), 2);
  return torch::relu(fc_->forward(x.flatten(1)));
}

torch::Tensor Classifier::forward(const torch::Tensor& images) {
  return out_->forward(dropout_->forward(features(images)));
}

std::pair<torch::Tensor, torch::Tensor> classify(Classifier& net, const torch::Tensor& images,
                                                 int64_t batch) {
  torch::NoGradGuard no_grad;
  net.eval();
  const auto device = net.parameters().front().device();
  std::vector<torch::Tensor> preds, feats;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    auto x = images.slice(0, i, std::min(images.size(0), i + batch)).to(device);
    auto f = net.features(x);
    preds.push_back(std::get<1>(net.forward(x).max(1)).to(torch::kCPU));
    feats.push_back(f.to(torch::kCPU));
  }
  return {torch::cat(preds), torch::cat(feats)};
}

double classifier_accuracy(Classifier& net, const torch::Tensor& images, const torch::Tensor& labels,
                           int64_t batch) {
  auto [pred, feats] = classify(net, images, batch);
  (void)feats;
  return (pred == labels.to(torch::kCPU)).to(torch::kFloat64).mean().item<double>();
}

torch::Tensor unit_feature_distance(const torch::Tensor& fa, const torch::Tensor& fb) {
  auto na = torch::nn::functional::normalize(fa.to(torch::kFloat64),
                                             torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto nb = torch::nn::functional::normalize(fb.to(torch::kFloat64),
                                             torch::nn::functional::NormalizeFuncOptions().dim(1));
  return (na - nb).square().sum(1);
}

torch::Tensor feature_distance(Classifier& c, const torch::Tensor& a, const torch::Tensor& b) {
  DDIM_CHECK_ARG(a.sizes() == b.sizes() && a.dim() == 4 && a.size(0) > 0,
                 "feature distances need two image batches of one shape, got {} and {}",
                 fmt::join(a.sizes(), "x"), fmt::join(b.sizes(), "x"));
  return unit_feature_distance(classify(c, a).second, classify(c, b).second);
}

LoadedClassifier load_classifier(const std::string& path) {
  return classifier_from_checkpoint(load_checkpoint(path, "classifier"), path);
}

LoadedClassifier classifier_from_checkpoint(const Checkpoint& ck, const std::string& path) {
  DDIM_CHECK(ck.kind() == "classifier", "{}: is a ddim {} checkpoint, but a classifier is needed here", path,
             ck.kind().empty() ? "unknown" : ck.kind());
  LoadedClassifier c;
  const auto& state = checkpoint_state(ck, "model", path);
  {
    detail::AllocationBudget budget(detail::network_budget(state));
    c.network = meta_parse(ck.meta, "arch", path, [](const nlohmann::json& j) {
      return std::make_shared<Classifier>(ClassifierOptions::from_json(j));
    });
  }
  c.data = meta_parse(ck.meta, "data", path, DataInfo::from_json);
  load_module_state(*c.network, state, path);
  c.network->eval();
  return c;
}

}  // namespace ddim
