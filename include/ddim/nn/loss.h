// The distances the paper trains and embeds with: mean absolute error (the authors' choice
// everywhere) or mean squared error.
#pragma once

#include <torch/torch.h>

#include <string>

#include "ddim/core/names.h"

namespace ddim {

enum class Loss { MAE, MSE };
/// "mae", "mse".
DDIM_NAMED_ENUM(Loss);

/// Mean distance over all elements.
torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b, Loss loss);

/// Mean distance per example over all but the first dimension: [B, ...] -> [B].
torch::Tensor distance_per_example(const torch::Tensor& a, const torch::Tensor& b, Loss loss);

}  // namespace ddim
