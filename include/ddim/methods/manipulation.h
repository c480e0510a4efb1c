// Attribute manipulation with a diffusion autoencoder (Diff-AE section 5.3, Fig. 5): a linear
// classifier on the semantic codes z_sem finds the direction of an attribute; moving an
// image's code along it and decoding with the image's own stochastic code x_T changes the
// attribute and keeps the rest.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <vector>

#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/methods/embedding.h"
#include "ddim/metrics/probe.h"

namespace ddim {

struct AttributeDirection {
  LinearProbe probe;               ///< two classes: without / with the attribute
  torch::Tensor direction;         ///< [d] unit vector in the probe's standardised code units
  double auroc = 0, accuracy = 0;  ///< on the held-out codes

  /// P(attribute) of codes [N, d].
  torch::Tensor probability(const torch::Tensor& codes) const;
  nlohmann::ordered_json to_json() const;
};

/// Fits the probe on codes [N, d] with boolean `positive` [N] and measures it on held-out codes.
AttributeDirection fit_attribute_direction(const torch::Tensor& codes, const torch::Tensor& positive,
                                           const torch::Tensor& test_codes,
                                           const torch::Tensor& test_positive,
                                           const ProbeOptions& options = {});

struct Manipulation {
  std::vector<double> scales;
  std::vector<torch::Tensor> images;  ///< per scale: [N, C, H, W] in [0, 1], padding cropped
  std::vector<double> probability;    ///< per scale: mean P(attribute) of the decoded images' codes
};

/// Decodes each embedded image with its code moved by `scale` standardised units along the
/// direction, for every scale, with its own x_T (S steps of `grid`); the decoded images are
/// encoded again and scored by the probe.
Manipulation manipulate_attribute(const Denoiser& autoencoder, const Embedding& embedding,
                                  const AttributeDirection& direction, const std::vector<double>& scales,
                                  const TimeGrid& grid, int64_t batch = 256);

}  // namespace ddim
