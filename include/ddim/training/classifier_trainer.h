// Training the small CNN classifier of classifier.h (ddim train-classifier): cross-entropy and
// Adam with the common run machinery; the checkpoint (kind "classifier") is what
// load_classifier reads.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "ddim/core/fields.h"
#include "ddim/data/dataset.h"
#include "ddim/nn/classifier.h"
#include "ddim/training/training.h"

namespace ddim {

struct ClassifierTrainOptions {
  int64_t batch = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
  nlohmann::json to_json() const { return fields_to_json(*this); }
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("batch", self.batch);
    field("lr", self.lr);
    field("seed", self.seed);
  }
};

/// Training with cross-entropy and Adam, with the common run machinery (kind "classifier").
class ClassifierTrainer : public TrainingTask {
 public:
  ClassifierTrainer(const Dataset& train, const Dataset* test, const ClassifierTrainOptions& options,
                    const torch::Device& device, nlohmann::json extra_meta = nlohmann::json::object());
  torch::Tensor step(int64_t step) override;
  nlohmann::json log_values(int64_t step) override;
  double learning_rate(int64_t) const override { return options_.lr; }
  Checkpoint checkpoint(int64_t step) const override;
  void restore(const Checkpoint& checkpoint, const std::string& what) override;
  int64_t examples_per_step() const override { return options_.batch; }
  int64_t steps_per_epoch() const { return order_.steps_per_epoch(); }
  Classifier& network() { return *net_; }

 private:
  ClassifierTrainOptions options_;
  torch::Device device_;
  Dataset data_;
  DataInfo info_;
  std::shared_ptr<Classifier> net_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  nlohmann::json extra_meta_;
  EpochOrder order_;
  torch::Tensor valid_x_, valid_y_;
};

}  // namespace ddim
