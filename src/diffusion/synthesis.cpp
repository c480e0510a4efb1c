#include "ddim/diffusion/synthesis.h"

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/unrolled.h"

namespace ddim {

SynthesisResult synthesize_seeds(const Denoiser& d, const torch::Tensor& targets, int64_t k,
                                 const torch::Tensor& init, const SynthesisOptions& o,
                                 at::Generator& generator, const SynthesisCallback& callback) {
  DDIM_CHECK_ARG(k > 0, "the number of seeds per image must be positive, got {}", k);
  DDIM_CHECK_ARG(o.iterations > 0 && o.lr > 0 && o.steps > 0 && o.batch > 0,
                 "iterations, learning rate, steps and batch must be positive, got {}, {}, {} and {}",
                 o.iterations, o.lr, o.steps, o.batch);
  DDIM_CHECK_ARG(o.seed_penalty >= 0 && o.tolerance >= 0,
                 "penalty and tolerance must not be negative, got {} and {}", o.seed_penalty, o.tolerance);
  DDIM_CHECK_ARG(targets.dim() == static_cast<int64_t>(d.data().shape.size()) + 1 &&
                     targets.sizes().slice(1).vec() == d.data().shape,
                 "targets of shape {} do not fit the model, whose examples are {}",
                 fmt::join(targets.sizes(), "x"), fmt::join(d.data().shape, "x"));
  const auto& shape = d.data().shape;
  const int64_t images = targets.size(0);
  std::vector<int64_t> cloud_shape = {images, k};
  cloud_shape.insert(cloud_shape.end(), shape.begin(), shape.end());
  torch::Tensor seeds0;
  if (init.defined()) {
    DDIM_CHECK_ARG(init.sizes().vec() == cloud_shape, "initial seeds have shape {}, expected {}",
                   fmt::join(init.sizes(), "x"), fmt::join(cloud_shape, "x"));
    seeds0 = init.to(torch::kFloat32);
  } else {
    seeds0 = randn(cloud_shape, generator);
  }
  const auto device = d.device();
  const auto grid = make_time_grid(d.schedule(), o.steps, o.end);
  d.network().eval();
  // Every seed with its own copy of its target (and condition): [I * K, ...].
  auto flat_seeds = seeds0.flatten(0, 1);
  auto flat_targets = targets.to(torch::kFloat32).unsqueeze(1).expand(cloud_shape).flatten(0, 1);
  Condition flat_condition = o.condition;
  if (o.condition.vectors.defined()) {
    DDIM_CHECK_ARG(o.condition.vectors.dim() == 2 && o.condition.vectors.size(0) == images,
                   "{} conditions for {} target images", o.condition.vectors.size(0), images);
    flat_condition.vectors = o.condition.vectors.repeat_interleave(k, 0);
  }
  const int64_t n = flat_seeds.size(0);
  std::vector<torch::Tensor> out_seeds, out_dist, out_images;
  SynthesisResult result;
  for (int64_t begin = 0; begin < n; begin += o.batch) {
    const int64_t end = std::min(n, begin + o.batch);
    auto z = flat_seeds.slice(0, begin, end).to(device).clone().requires_grad_(true);
    auto target = flat_targets.slice(0, begin, end).to(device);
    auto condition = flat_condition.slice(begin, end);
    if (condition.vectors.defined()) condition.vectors = condition.vectors.to(device);
    const auto eps = d.eps_fn(condition);
    torch::optim::Adam adam({z}, torch::optim::AdamOptions(o.lr));
    torch::Tensor distance;
    int64_t it = 0;
    while (it < o.iterations) {
      throw_if_interrupted();
      auto out = d.stats().destandardize(differentiable_sample(eps, z, grid, o.checkpointing));
      distance = distance_per_example(out, target, o.loss);
      auto penalty = z.square().flatten(1).mean(1);
      // The sum keeps each seed's problem separate (Adam is per element anyway).
      auto objective = (distance + o.seed_penalty * penalty).sum();
      adam.zero_grad();
      objective.backward();
      adam.step();
      ++it;
      distance = distance.detach();
      if (callback) callback(it, distance, begin, end);
      if (o.tolerance > 0 && distance.max().item<double>() < o.tolerance) break;
    }
    result.iterations = std::max(result.iterations, it);
    // The final seeds' outputs and distances (after the last update).
    torch::NoGradGuard no_grad;
    const auto x = ddim_sample(eps, z.detach(), grid).x;
    out_dist.push_back(distance_per_example(d.stats().destandardize(x), target, o.loss).to(torch::kCPU));
    out_images.push_back(d.to_data(x).to(torch::kCPU));
    out_seeds.push_back(z.detach().to(torch::kCPU));
  }
  result.seeds = torch::cat(out_seeds).view(cloud_shape);
  result.distance = torch::cat(out_dist).view({images, k});
  result.outputs = torch::cat(out_images).view(cloud_shape);
  return result;
}

}  // namespace ddim
