#include "ddim/training/classifier_trainer.h"

#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/network.h"

namespace ddim {

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

}  // namespace ddim
