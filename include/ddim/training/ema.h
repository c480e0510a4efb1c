// Exponential moving average of a network's weights *and* BatchNorm statistics, as the
// keras.io DDIM example (and the paper's code) keeps it: after every step
// ema <- decay * ema + (1 - decay) * weights; sampling uses the EMA network.
#pragma once

#include <torch/torch.h>

namespace ddim {

/// Updates every floating-point parameter and buffer of `ema` towards `model`'s (same
/// architecture); integer buffers (BatchNorm's batch counter) are copied.
void ema_update(torch::nn::Module& ema, const torch::nn::Module& model, double decay);

/// The decay to use at step k: `decay`, or with warm-up min(decay, (1 + k)/(10 + k)).
double ema_decay_at(double decay, bool warmup, int64_t step);

/// Copies all parameters and buffers of `source` into `target` (same architecture).
void copy_weights(torch::nn::Module& target, const torch::nn::Module& source);

}  // namespace ddim
