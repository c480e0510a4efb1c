// What ddim's own classifier (classifier.h) says about generated images: a Fréchet distance
// between the classifier features of samples and of real images with the class distribution
// of the samples, and, for reconstructions, how often the embedding keeps the original's
// class. The Fréchet distance is on the features of ddim's small classifier, not Inception:
// compare it only between runs evaluated with the same classifier.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <optional>

#include "ddim/classifier.h"

namespace ddim {

struct SampleQuality {
  double frechet_distance = 0;
  torch::Tensor class_fractions;             ///< float64 [classes]: the samples' predicted classes
  std::optional<double> reference_accuracy;  ///< the classifier on the labelled reference images
  int64_t samples = 0, references = 0;

  /// {"frechet_distance", "class_distribution": {name: fraction}, ...}; class names from `data`.
  nlohmann::ordered_json to_json(const DataInfo& data) const;
};

/// samples and reference: [N, C, H, W] in [0, 1] of the classifier's input shape;
/// reference_labels: [M] or undefined.
SampleQuality sample_quality(Classifier& classifier, const torch::Tensor& samples,
                             const torch::Tensor& reference, const torch::Tensor& reference_labels = {});

struct Faithfulness {
  int64_t images = 0;
  double class_kept = 0;  ///< fraction of reconstructions classified as their original
  std::optional<double> accuracy_on_originals, accuracy_on_reconstructions;  ///< with labels
  std::optional<double> frechet_distance;  ///< reconstructions against originals (two or more images)

  nlohmann::ordered_json to_json() const;
};

/// originals and reconstructions: [N, C, H, W] in [0, 1] of the classifier's input shape.
Faithfulness reconstruction_faithfulness(Classifier& classifier, const torch::Tensor& originals,
                                         const torch::Tensor& reconstructions,
                                         const torch::Tensor& labels = {});

}  // namespace ddim
