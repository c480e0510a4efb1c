// A small CNN classifier: the feature extractor of ddim's sample-quality measure (no
// Inception weights can be downloaded here) and the judge of whether an embedding keeps an
// image's class.
//
// Two blocks of two 3x3 convolutions (32 then 64 channels, ReLU, 2x2 max pooling), a
// 128-unit fully connected layer (the features) with dropout, and the class layer. Input:
// images [B, C, H, W] in [0, 1] of the data's padded shape.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ddim/dataset.h"
#include "ddim/denoiser.h"
#include "ddim/training.h"

namespace ddim {

struct ClassifierOptions {
  int64_t channels = 1;
  int64_t image_size = 32;
  int64_t classes = 10;
  int64_t features = 128;
  double dropout = 0.3;
  nlohmann::json to_json() const;
  static ClassifierOptions from_json(const nlohmann::json& j);
};

class Classifier : public torch::nn::Module {
 public:
  explicit Classifier(const ClassifierOptions& options);
  /// Class logits [B, classes].
  torch::Tensor forward(const torch::Tensor& images);
  /// The 128-unit features before the class layer [B, features] (for the Fréchet distance).
  torch::Tensor features(const torch::Tensor& images);
  const ClassifierOptions& options() const { return options_; }

 private:
  ClassifierOptions options_;
  torch::nn::Conv2d c1_{nullptr}, c2_{nullptr}, c3_{nullptr}, c4_{nullptr};
  torch::nn::Linear fc_{nullptr}, out_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

struct ClassifierTrainOptions {
  int64_t batch = 128;
  double lr = 1e-3;
  uint64_t seed = 0;
  nlohmann::json to_json() const { return {{"batch", batch}, {"lr", lr}, {"seed", seed}}; }
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

/// Accuracy of `net` on labelled images (in batches), in [0, 1].
double classifier_accuracy(Classifier& net, const torch::Tensor& images, const torch::Tensor& labels,
                           int64_t batch = 512);

/// Predicted classes [N] and features [N, features] of images, in batches, on the CPU.
std::pair<torch::Tensor, torch::Tensor> classify(Classifier& net, const torch::Tensor& images,
                                                 int64_t batch = 512);

struct LoadedClassifier {
  std::shared_ptr<Classifier> network;
  DataInfo data;
};
/// Loads a checkpoint of kind "classifier" in eval mode.
LoadedClassifier load_classifier(const std::string& path);

}  // namespace ddim
