// Linear probes: a linear classifier fitted on frozen features (semantic codes, code
// partitions), the measure of what a representation makes linearly readable. Diff-AE uses one
// to find an attribute's direction in z_sem (its section 5.3); DiffuseGAE's Table 1 trains one
// per (partition, attribute) pair.
#pragma once

#include <torch/torch.h>

namespace ddim {

struct ProbeOptions {
  int64_t iterations = 300;  ///< full-batch Adam iterations
  double lr = 0.05;          ///< Adam learning rate
  double l2 = 1e-4;          ///< weight of sum(W^2)
};

/// Multinomial logistic regression on standardised features: logits = ((x - mean) / std) W^T + b.
struct LinearProbe {
  torch::Tensor mean, std;  ///< [D] the training features' statistics
  torch::Tensor weight;     ///< [K, D]
  torch::Tensor bias;       ///< [K]

  /// features [N, D] -> logits [N, K] (no gradient).
  torch::Tensor logits(const torch::Tensor& features) const;
  torch::Tensor predict(const torch::Tensor& features) const;
  /// Fraction of `labels` [N] predicted right.
  double accuracy(const torch::Tensor& features, const torch::Tensor& labels) const;
  /// exp(mean cross-entropy): 1 for a perfect probe, the number of classes for chance.
  double perplexity(const torch::Tensor& features, const torch::Tensor& labels) const;
};

/// Fits a probe on features [N, D] with int64 labels [N] in [0, classes). Deterministic: the
/// weights start at zero and the optimisation is full-batch.
LinearProbe fit_linear_probe(const torch::Tensor& features, const torch::Tensor& labels, int64_t classes,
                             const ProbeOptions& options = {});

/// Area under the ROC curve of `scores` [N] for the boolean `positive` [N], by the rank
/// statistic (Mann-Whitney U); NaN when one class is absent.
double auroc(const torch::Tensor& scores, const torch::Tensor& positive);

}  // namespace ddim
