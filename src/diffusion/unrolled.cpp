#include "ddim/diffusion/unrolled.h"

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"

namespace ddim {
namespace {

// What the backward pass needs besides tensors, kept alive by the autograd graph.
struct SamplerCapsule : torch::CustomClassHolder {
  EpsFn eps;
  TimeGrid grid;
  SampleOptions options;
};

// Per-step gradient checkpointing as a custom autograd function.
struct CheckpointedSampler : public torch::autograd::Function<CheckpointedSampler> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& seeds,
                               c10::intrusive_ptr<SamplerCapsule> capsule) {
    // Autograd is off here: only the inputs of each step are kept.
    std::vector<torch::Tensor> states;
    auto x = seeds;
    const auto& g = capsule->grid;
    for (int64_t k = 0; k < g.steps(); ++k) {
      throw_if_interrupted();
      states.push_back(x);
      x = ddim_sample_step(capsule->eps, x, g.rates[k], g.rates[k + 1], capsule->options);
    }
    ctx->saved_data["states"] = states;
    ctx->saved_data["capsule"] = c10::IValue::make_capsule(capsule);
    return x;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto states = ctx->saved_data["states"].toTensorVector();
    auto capsule = c10::static_intrusive_pointer_cast<SamplerCapsule>(ctx->saved_data["capsule"].toCapsule());
    const auto& g = capsule->grid;
    auto grad = grads[0];
    torch::AutoGradMode enable(true);
    for (int64_t k = g.steps() - 1; k >= 0; --k) {
      // Recompute step k from its saved input and pull the gradient back through it.
      auto x = states[static_cast<size_t>(k)].detach().requires_grad_(true);
      auto y = ddim_sample_step(capsule->eps, x, g.rates[k], g.rates[k + 1], capsule->options);
      grad = torch::autograd::grad({y}, {x}, {grad})[0];
    }
    return {grad, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor differentiable_sample(const EpsFn& eps, const torch::Tensor& seeds, const TimeGrid& grid,
                                    bool checkpointing, const SampleOptions& options) {
  DDIM_CHECK_ARG(options.eta == 0, "gradients through the sampler need deterministic DDIM (eta = 0)");
  DDIM_CHECK_ARG(!options.keep_trajectory, "differentiable_sample keeps no trajectory");
  if (!checkpointing) return ddim_sample(eps, seeds, grid, options).x;
  auto capsule = c10::make_intrusive<SamplerCapsule>();
  capsule->eps = eps;
  capsule->grid = grid;
  capsule->options = options;
  return CheckpointedSampler::apply(seeds, capsule);
}

}  // namespace ddim
