#include "ddim/classifier.h"

#include "allocation_budget.h"
#include "ddim/error.h"
#include "ddim/rng.h"

namespace ddim {

namespace nn = torch::nn;

nlohmann::json ClassifierOptions::to_json() const {
  return {{"channels", channels},
          {"image_size", image_size},
          {"classes", classes},
          {"features", features},
          {"dropout", dropout}};
}

ClassifierOptions ClassifierOptions::from_json(const nlohmann::json& j) {
  ClassifierOptions o;
  o.channels = j.value("channels", o.channels);
  o.image_size = j.value("image_size", o.image_size);
  o.classes = j.value("classes", o.classes);
  o.features = j.value("features", o.features);
  o.dropout = j.value("dropout", o.dropout);
  return o;
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

ClassifierTrainer::ClassifierTrainer(const Dataset& train, const Dataset* test,
                                     const ClassifierTrainOptions& o, const torch::Device& device,
                                     nlohmann::json extra_meta)
    : options_(o),
      device_(device),
      data_(train),
      extra_meta_(std::move(extra_meta)),
      order_(train.size(), o.batch, o.seed) {
  DDIM_CHECK_ARG(train.is_image() && train.labels.defined(), "{}: a classifier needs labelled images",
                 train.spec);
  info_ = DataInfo::of(train);
  ClassifierOptions co;
  co.channels = info_.shape[0];
  co.image_size = info_.shape[1];
  co.classes =
      std::max<int64_t>(train.labels.max().item<int64_t>() + 1, static_cast<int64_t>(train.classes.size()));
  torch::manual_seed(mix_seed(o.seed, 6));
  net_ = std::make_shared<Classifier>(co);
  net_->to(device_);
  optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(o.lr));
  data_.storage = data_.storage.to(device_);
  data_.labels = data_.labels.to(device_);
  const Dataset& v = test ? *test : train;
  const int64_t nv = std::min<int64_t>(v.size(), 2000);
  valid_x_ = v.slice(0, nv);
  valid_y_ = v.labels.slice(0, 0, nv);
}

torch::Tensor ClassifierTrainer::step(int64_t step) {
  net_->train();
  const auto idx = order_.indices(step).to(device_);
  torch::manual_seed(mix_seed(options_.seed, 3, step));  // dropout
  auto logits = net_->forward(data_.get(idx));
  auto loss = torch::nn::functional::cross_entropy(logits, data_.labels.index_select(0, idx));
  optimizer_->zero_grad();
  loss.backward();
  optimizer_->step();
  return loss.detach();
}

nlohmann::json ClassifierTrainer::log_values(int64_t) {
  return {{"test_accuracy", classifier_accuracy(*net_, valid_x_, valid_y_)}};
}

Checkpoint ClassifierTrainer::checkpoint(int64_t step) const {
  Checkpoint ck;
  ck.meta["kind"] = "classifier";
  ck.meta["arch"] = net_->options().to_json();
  ck.meta["parameters"] = count_parameters(*net_);
  ck.meta["data"] = info_.to_json();
  ck.meta["step"] = step;
  ck.meta["epoch"] = static_cast<double>(step) / static_cast<double>(order_.steps_per_epoch());
  ck.meta["train"] = options_.to_json();
  for (const auto& [k, v] : extra_meta_.items()) ck.meta[k] = v;
  ck.states["model"] = module_state(*net_);
  ck.blobs["optimizer"] = optimizer_bytes(*optimizer_);
  return ck;
}

void ClassifierTrainer::restore(const Checkpoint& ck, const std::string& what) {
  DDIM_CHECK(ck.kind() == "classifier", "{}: not a classifier checkpoint", what);
  load_module_state(*net_, checkpoint_state(ck, "model", what), what);
  const auto it = ck.blobs.find("optimizer");
  DDIM_CHECK(it != ck.blobs.end(), "{}: has no optimizer state to resume from", what);
  load_optimizer_bytes(*optimizer_, it->second, what);
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

LoadedClassifier load_classifier(const std::string& path) {
  const auto ck = load_checkpoint(path, "classifier");
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
