#include "ddim/training/embedder_trainer.h"

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/diffusion/unrolled.h"
#include "ddim/io/image.h"
#include "ddim/metrics/metrics.h"
#include "ddim/pictures/grid.h"
#include "io/allocation_budget.h"

#include "training/streams.h"

namespace ddim {

nlohmann::json EmbedderTrainOptions::to_json() const { return fields_to_json(*this); }

EmbedderTrainOptions EmbedderTrainOptions::from_json(const nlohmann::json& j) {
  return fields_from_json<EmbedderTrainOptions>(j);
}

EmbedderTrainer::EmbedderTrainer(const Denoiser& denoiser, const DenoiserRef& ref,
                                 const EmbedderOptions& arch, const Dataset& train, const Dataset* validation,
                                 const EmbedderTrainOptions& o, const torch::Device& device,
                                 nlohmann::json extra_meta, GradientSync* sync)
    : denoiser_(denoiser),
      ref_(ref),
      options_(o),
      device_(device),
      data_(train),
      extra_meta_(std::move(extra_meta)),
      sync_(sync),
      order_(train.size(), o.batch, o.seed, sync ? sync->world_size() : 1, sync ? sync->rank() : 0) {
  DDIM_CHECK_ARG(o.lr > 0 && o.steps > 0, "learning rate and steps must be positive");
  DDIM_CHECK_ARG(train.is_image() && train.example_shape() == denoiser.data().shape,
                 "the data ({}) does not have the denoiser's shape ({})",
                 fmt::join(train.example_shape(), "x"), fmt::join(denoiser.data().shape, "x"));
  denoiser_.to(device_);
  denoiser_.network().eval();
  for (auto& p : denoiser_.network().parameters()) p.set_requires_grad(false);
  torch::manual_seed(mix_seed(o.seed, streams::kInit));
  embedder_ = std::make_shared<Embedder>(arch);
  embedder_->to(device_);
  if (sync_) {
    sync_->broadcast(*embedder_);
    sync_->attach(*embedder_);
  }
  optimizer_ = std::make_unique<torch::optim::Adam>(embedder_->parameters(), torch::optim::AdamOptions(o.lr));
  grid_ = make_time_grid(denoiser_.schedule(), o.steps);
  data_.storage = data_.storage.to(device_);
  const Dataset& v = validation ? *validation : train;
  valid_images_ =
      v.slice(0, std::min<int64_t>(v.size(), std::max(o.validation_images, o.preview_images))).to(device_);
}

std::pair<torch::Tensor, torch::Tensor> EmbedderTrainer::reconstruct(const torch::Tensor& images,
                                                                     bool differentiable) {
  auto seeds = embedder_->forward(images);
  auto out = differentiable ? differentiable_sample(denoiser_.eps_fn(), seeds, grid_, options_.checkpointing)
                            : ddim_sample(denoiser_.eps_fn(), seeds, grid_).x;
  // Clipped and de-standardised, as the authors' code compares it with the image.
  return {seeds, denoiser_.stats().destandardize(out).clamp(0.0, 1.0)};
}

torch::Tensor EmbedderTrainer::step(int64_t step) {
  embedder_->train();
  auto images = data_.get(order_.indices(step));
  torch::Tensor loss;
  {
    AutocastGuard autocast(device_, options_.bf16);
    auto recon = reconstruct(images, /*differentiable=*/true).second;
    loss = distance(recon.to(torch::kFloat32), images, options_.loss);
  }
  optimizer_->zero_grad();
  loss.backward();
  if (sync_) sync_->all_reduce(*embedder_);
  optimizer_->step();
  return loss.detach();
}

nlohmann::json EmbedderTrainer::log_values(int64_t) {
  torch::NoGradGuard no_grad;
  embedder_->eval();
  auto images =
      valid_images_.slice(0, 0, std::min<int64_t>(valid_images_.size(0), options_.validation_images));
  auto recon = reconstruct(images, false).second;
  const auto& info = denoiser_.data();
  auto mse = mse_per_image(info.crop(recon), info.crop(images)).mean().item<double>();
  return {{"valid_mse", mse}};
}

Checkpoint EmbedderTrainer::checkpoint(int64_t step) const {
  Checkpoint ck;
  ck.meta["kind"] = "embedder";
  ck.meta["arch"] = embedder_->options().to_json();
  ck.meta["parameters"] = count_parameters(*embedder_);
  ck.meta["denoiser"] = ref_.to_json();
  ck.meta["data"] = denoiser_.data().to_json();
  ck.meta["step"] = step;
  ck.meta["epoch"] = static_cast<double>(step) / static_cast<double>(order_.steps_per_epoch());
  ck.meta["world_size"] = sync_ ? sync_->world_size() : 1;
  ck.meta["train"] = options_.to_json();
  for (const auto& [k, v] : extra_meta_.items()) ck.meta[k] = v;
  ck.states["model"] = module_state(*embedder_);
  ck.blobs["optimizer"] = optimizer_bytes(*optimizer_);
  return ck;
}

void EmbedderTrainer::restore(const Checkpoint& ck, const std::string& what) {
  DDIM_CHECK(ck.kind() == "embedder", "{}: not an embedder checkpoint", what);
  load_module_state(*embedder_, checkpoint_state(ck, "model", what), what);
  const auto it = ck.blobs.find("optimizer");
  DDIM_CHECK(it != ck.blobs.end(), "{}: has no optimizer state to resume from", what);
  load_optimizer_bytes(*optimizer_, it->second, what);
}

std::optional<Preview> EmbedderTrainer::preview(int64_t step) {
  if (options_.preview_images == 0) return std::nullopt;
  torch::NoGradGuard no_grad;
  embedder_->eval();
  const auto& info = denoiser_.data();
  auto images = valid_images_.slice(0, 0, std::min<int64_t>(valid_images_.size(0), options_.preview_images));
  auto [seeds, recon] = reconstruct(images, false);
  auto mse = mse_per_image(info.crop(recon), info.crop(images));
  Preview p;
  p.name = "preview";
  p.title = fmt::format("{} embedder, step {}: mean MSE {:.5f} (Fig. 16)",
                        ddim::to_string(embedder_->options().arch), step, mse.mean().item<double>());
  p.rows = {info.crop(images).cpu(), seed_to_image(info.crop(seeds)).cpu(), info.crop(recon).cpu()};
  p.row_labels = {"original", "seed", "output"};
  std::vector<std::string> caps;
  for (int64_t i = 0; i < mse.size(0); ++i) caps.push_back(fmt::format("{:.4f}", mse[i].item<double>()));
  p.captions = {{}, {}, caps};
  return p;
}

}  // namespace ddim
