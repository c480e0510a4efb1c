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

#include "ddim/core/fields.h"
#include "ddim/data/dataset.h"
#include "ddim/io/checkpoint.h"

namespace ddim {

struct ClassifierOptions {
  int64_t channels = 1;
  int64_t image_size = 32;
  int64_t classes = 10;
  int64_t features = 128;
  double dropout = 0.3;
  nlohmann::json to_json() const;
  static ClassifierOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("channels", self.channels);
    field("image_size", self.image_size);
    field("classes", self.classes);
    field("features", self.features);
    field("dropout", self.dropout);
  }
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

/// Accuracy of `net` on labelled images (in batches), in [0, 1].
double classifier_accuracy(Classifier& net, const torch::Tensor& images, const torch::Tensor& labels,
                           int64_t batch = 512);

/// Predicted classes [N] and features [N, features] of images, in batches, on the CPU.
std::pair<torch::Tensor, torch::Tensor> classify(Classifier& net, const torch::Tensor& images,
                                                 int64_t batch = 512);

/// Squared distance between unit-normalised feature rows [N, F] -> float64 [N], in [0, 4].
torch::Tensor unit_feature_distance(const torch::Tensor& features_a, const torch::Tensor& features_b);

/// Per-image distance [N] between images a and b ([N, C, H, W] in [0, 1], the classifier's input
/// shape) in the classifier's feature space, LPIPS-like (Zhang et al. 2018, on ddim's small
/// classifier instead of a VGG): the squared distance between the unit-normalised features,
/// in [0, 4]; 0 for identical features.
torch::Tensor feature_distance(Classifier& classifier, const torch::Tensor& a, const torch::Tensor& b);

struct LoadedClassifier {
  std::shared_ptr<Classifier> network;
  DataInfo data;
};
/// Loads a checkpoint of kind "classifier" in eval mode.
LoadedClassifier load_classifier(const std::string& path);
/// The same from a checkpoint already read (`what` names it in messages).
LoadedClassifier classifier_from_checkpoint(const Checkpoint& ck, const std::string& what);

}  // namespace ddim
