// How well a partitioned code is disentangled (DiffuseGAE Table 1): for every pair of a part
// of the code and an attribute of the data, a linear classifier (probe.h) trained on that part
// of the training codes predicting that attribute, measured on the test codes. A perfectly
// disentangled code reads each attribute from its own part (accuracy 1, perplexity 1 on the
// diagonal) and from no other (chance on the off-diagonal: accuracy near the most frequent
// value's share, perplexity near the number of values). The paper's table holds accuracies
// (its diagonal near 1, its off-diagonal near 1/|A_r|) under the name "perplexity matrix";
// both are reported. The same analysis on a plain Diff-AE, z_sem split into equal chunks, is
// the paper's baseline.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ddim/data/attributes.h"
#include "ddim/methods/gae.h"
#include "ddim/metrics/probe.h"

namespace ddim {

struct Disentanglement {
  std::vector<std::string> parts;       ///< columns: the partition's parts
  std::vector<std::string> attributes;  ///< rows
  std::vector<int64_t> values;          ///< |A_r| per attribute
  torch::Tensor accuracy;               ///< float64 [attributes, parts], on the test codes
  torch::Tensor perplexity;             ///< float64 [attributes, parts]: exp(cross-entropy)
  std::vector<double> whole;            ///< per attribute: the accuracy of a probe on the whole code
  std::vector<double> chance;           ///< per attribute: the most frequent test value's share
  int64_t train = 0, test = 0;          ///< codes the probes were fitted and measured on

  /// The mean accuracy of each attribute on its own part, and on the other attribute parts
  /// ("rest" excluded); NaN when there is none.
  double diagonal() const;
  double off_diagonal() const;
  nlohmann::ordered_json to_json() const;
  /// Markdown tables (accuracy, then perplexity), rows attributes "name (|A|)", columns parts.
  std::string to_markdown() const;
};

/// codes: [N, partition.dim()] of the training and test examples, with their attributes
/// (labels [N] each). `attributes`: the rows (empty: the partition's attribute parts); each
/// must be an attribute of both sets. Deterministic (probe.h fits from zero, full batch).
Disentanglement disentanglement(const torch::Tensor& train_codes,
                                const std::vector<Attribute>& train_attributes,
                                const torch::Tensor& test_codes,
                                const std::vector<Attribute>& test_attributes, const Partition& partition,
                                const std::vector<std::string>& attributes = {},
                                const ProbeOptions& options = {});

}  // namespace ddim
