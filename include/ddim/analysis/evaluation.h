// What ddim's own classifier (classifier.h) says about generated images: a Fréchet distance
// between the classifier features of samples and of real images with the class distribution
// of the samples, and, for reconstructions, how often the embedding keeps the original's
// class. The Fréchet distance is on the features of ddim's small classifier, not Inception:
// compare it only between runs evaluated with the same classifier.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <optional>

#include "ddim/nn/classifier.h"

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
  /// The mean feature distance between each reconstruction and its original
  /// (feature_distance: an LPIPS-like perceptual distance on ddim's classifier).
  double feature_distance = 0;

  nlohmann::ordered_json to_json() const;
};

// feature_distance (the LPIPS-like distance on the classifier's features) is nn/classifier.h's.

/// originals and reconstructions: [N, C, H, W] in [0, 1] of the classifier's input shape.
Faithfulness reconstruction_faithfulness(Classifier& classifier, const torch::Tensor& originals,
                                         const torch::Tensor& reconstructions,
                                         const torch::Tensor& labels = {});

/// How an edit did, image by image (Direct Inversion's two axes). Fidelity to the original:
/// MSE and SSIM over the pixels, and a perceptual stand-in for LPIPS, the squared distance of
/// the unit-normalised classifier features (feature_distance above; LPIPS too compares
/// unit-normalised deep features), 2 (1 - cos), in [0, 4]. Editability: the classifier's
/// probability of the target class, and whether the target is its top class.
struct EditScores {
  torch::Tensor mse, ssim;         ///< float64 [N]
  torch::Tensor feature_distance;  ///< float64 [N], 0 for identical features; undefined without a classifier
  torch::Tensor target_probability;  ///< float64 [N]; undefined without a classifier
  torch::Tensor success;             ///< bool [N]: the target is the classifier's top class
  /// Against the true edit, where the data set can render it (data/counterfactual.h): the
  /// original with the target value and nothing else changed. Undefined without one;
  /// truth_feature_distance also without a classifier.
  torch::Tensor truth_mse, truth_ssim, truth_feature_distance;  ///< float64 [N]

  /// The means, and the success rate.
  nlohmann::ordered_json summary() const;
  /// Image i's scores.
  nlohmann::ordered_json entry(int64_t i) const;
};

/// originals and edits: [N, C, H, W] in [0, 1], the same shape (padding cropped); targets: int64
/// [N]. The classifier part is left out when `classifier` is null; images are fitted to its
/// input shape (pipeline.h's conform_images).
EditScores score_edits(const torch::Tensor& originals, const torch::Tensor& edits,
                       const torch::Tensor& targets, const LoadedClassifier* classifier = nullptr);

/// Adds the scores against the true edits (`truth`: [N, C, H, W] in [0, 1], as `edits`) to `scores`.
void score_against_truth(EditScores& scores, const torch::Tensor& edits, const torch::Tensor& truth,
                         const LoadedClassifier* classifier = nullptr);

}  // namespace ddim
