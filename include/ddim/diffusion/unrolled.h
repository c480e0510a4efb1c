// The S-step DDIM sampler as a differentiable function of its seeds: what gradient descent
// on seeds (seed paper section 5.1) and embedding-network training (section 5.2)
// backpropagate through.
//
// Plain backpropagation keeps the activations of all S network evaluations, so memory grows
// with S. With per-step gradient checkpointing the forward pass keeps only the S + 1 states
// x_k; the backward pass recomputes one step at a time from its saved input and chains the
// vector-Jacobian products, so memory is that of one step (plus S states) at the cost of a
// second forward pass. Both give the same gradients. The network must be frozen: gradients
// flow to the seeds (and through them to whatever produced them), not to its weights.
#pragma once

#include <torch/torch.h>

#include "ddim/diffusion/ddim.h"

namespace ddim {

/// x_T (requires grad, or produced by a network) -> the sample, differentiable.
/// Deterministic sampling only (options.eta must be 0).
torch::Tensor differentiable_sample(const EpsFn& eps, const torch::Tensor& seeds, const TimeGrid& grid,
                                    bool checkpointing, const SampleOptions& options = {});

}  // namespace ddim
