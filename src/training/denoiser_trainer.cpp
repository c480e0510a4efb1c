#include "ddim/training/denoiser_trainer.h"

#include <cmath>
#include <mutex>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/training/ema.h"

#include "training/streams.h"

namespace ddim {

nlohmann::json DenoiserTrainOptions::to_json() const { return fields_to_json(*this); }

DenoiserTrainOptions DenoiserTrainOptions::from_json(const nlohmann::json& j) {
  return fields_from_json<DenoiserTrainOptions>(j);
}

void DenoiserTrainOptions::validate() const {
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  DDIM_CHECK_ARG(lr > 0, "the learning rate must be positive, got {}", lr);
  DDIM_CHECK_ARG(weight_decay >= 0, "the weight decay must not be negative, got {}", weight_decay);
  DDIM_CHECK_ARG(ema_decay >= 0 && ema_decay < 1, "the EMA decay must be in [0, 1), got {}", ema_decay);
  DDIM_CHECK_ARG(warmup >= 0, "the warm-up length must not be negative, got {}", warmup);
  DDIM_CHECK_ARG(grad_clip >= 0, "the gradient clip norm must not be negative, got {}", grad_clip);
  DDIM_CHECK_ARG(cond_drop >= 0 && cond_drop <= 1, "the label drop probability must be in [0, 1], got {}",
                 cond_drop);
  DDIM_CHECK_ARG(preview_samples >= 0 && preview_steps > 0,
                 "preview samples must not be negative and preview steps must be positive, got {} and {}",
                 preview_samples, preview_steps);
}

DenoiserTrainer::DenoiserTrainer(const nlohmann::json& arch, const ScheduleOptions& schedule,
                                 const Dataset& train, const Dataset* validation,
                                 const DenoiserTrainOptions& options, const torch::Device& device,
                                 nlohmann::json extra_meta, GradientSync* sync)
    : options_(options),
      device_(device),
      data_(train),
      schedule_options_(schedule),
      schedule_(schedule),
      extra_meta_(std::move(extra_meta)),
      sync_(sync),
      order_(train.size(), options.batch, options.seed, sync ? sync->world_size() : 1,
             sync ? sync->rank() : 0) {
  options_.validate();
  stats_ = Standardizer::fit(train);
  data_info_ = DataInfo::of(train);
  {
    // The initial weights are a function of the seed. LibTorch's modules draw them from the
    // global generator: trainers built on several threads at once (in-process data-parallel
    // ranks) take turns, or one's seeding would change the other's weights.
    static std::mutex init_mutex;
    std::lock_guard<std::mutex> lock(init_mutex);
    torch::manual_seed(mix_seed(options_.seed, streams::kInit));
    model_ = make_network(arch);
    ema_ = make_network(arch);
  }
  if (model_->conditioning() == Conditioning::Class) {
    DDIM_CHECK_ARG(train.labels.defined(), "{}: a class-conditional model needs labelled data", train.spec);
    DDIM_CHECK_ARG(train.labels.numel() == 0 || (train.labels.min().item<int64_t>() >= 0 &&
                                                 train.labels.max().item<int64_t>() < model_->classes()),
                   "{}: labels outside the model's {} classes", train.spec, model_->classes());
  }
  model_->to(device_);
  ema_->to(device_);
  if (sync_) {
    // Every process starts from rank 0's weights and all-reduces its gradients bucket by
    // bucket during the backward pass.
    sync_->broadcast(*model_);
    sync_->attach(*model_);
  }
  copy_weights(*ema_, *model_);
  ema_->eval();
  for (auto& p : ema_->parameters()) p.set_requires_grad(false);
  data_.storage = data_.storage.to(device_);
  if (data_.labels.defined()) data_.labels = data_.labels.to(device_);
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      model_->parameters(), torch::optim::AdamWOptions(options_.lr).weight_decay(options_.weight_decay));
  // The fixed validation batch.
  const Dataset& v = validation ? *validation : train;
  const int64_t nv = std::min<int64_t>(256, v.size());
  auto vgen = make_generator(mix_seed(options_.seed, streams::kValid));
  valid_raw_ = v.slice(0, nv).to(device_);
  set_stats(stats_);
  valid_t_ = rand({nv}, vgen).to(device_);
  valid_eps_ = randn(valid_x0_.sizes(), vgen).to(device_);
  if (model_->conditioning() == Conditioning::Class)
    valid_cond_ = v.labels.defined()
                      ? class_condition(v.labels.slice(0, 0, nv), model_->classes()).to(device_)
                      : null_condition(nv, model_->classes()).to(device_);
}

void DenoiserTrainer::set_stats(Standardizer stats) {
  stats_.mean = stats.mean.to(device_);
  stats_.std = stats.std.to(device_);
  valid_x0_ = stats_.standardize(valid_raw_);
}

void DenoiserTrainer::warm_start(const Denoiser& from, const std::string& what) {
  DDIM_CHECK_ARG(from.data().shape == data_info_.shape,
                 "{}: the model is for data of shape [{}], {} holds [{}]", what,
                 fmt::join(from.data().shape, ", "), data_.spec, fmt::join(data_info_.shape, ", "));
  DDIM_CHECK_ARG(from.network().describe() == model_->describe(),
                 "{}: the model's network is not the one this run builds", what);
  const auto state = module_state(from.network());
  load_module_state(*model_, state, what);
  load_module_state(*ema_, state, what);
  if (sync_) sync_->broadcast(*model_);
  set_stats(from.stats());
  extra_meta_["init"] = what;
}

torch::Tensor drop_labels(const torch::Tensor& labels, double p, at::Generator& gen) {
  DDIM_CHECK_ARG(p >= 0 && p <= 1, "the label drop probability must be in [0, 1], got {}", p);
  const auto drop = rand({labels.size(0)}, gen).to(labels.device()) < p;
  return torch::where(drop, torch::full_like(labels, -1), labels);
}

torch::Tensor DenoiserTrainer::condition(int64_t step, const torch::Tensor& indices,
                                         const torch::Tensor& x0) {
  if (model_->conditioning() != Conditioning::Class) return model_->condition(x0);
  const int64_t world = sync_ ? sync_->world_size() : 1, rank = sync_ ? sync_->rank() : 0,
                b = indices.size(0);
  // The drops of the whole global batch, of which this process takes its share (as the noise).
  auto gen = make_generator(mix_seed(options_.seed, streams::kCondDrop, step), device_);
  const auto global = torch::zeros({b * world}, torch::TensorOptions(torch::kInt64).device(device_));
  global.narrow(0, rank * b, b).copy_(data_.labels.index_select(0, indices.to(device_)));
  const auto labels = drop_labels(global, options_.cond_drop, gen).narrow(0, rank * b, b);
  return class_condition(labels, model_->classes()).to(device_);
}

int64_t DenoiserTrainer::examples_per_step() const {
  return options_.batch * (sync_ ? sync_->world_size() : 1);
}

double DenoiserTrainer::learning_rate(int64_t step) const {
  if (options_.warmup > 0 && step < options_.warmup)
    return options_.lr * static_cast<double>(step + 1) / static_cast<double>(options_.warmup);
  return options_.lr;
}

torch::Tensor DenoiserTrainer::step(int64_t step) {
  model_->train();
  const int64_t world = sync_ ? sync_->world_size() : 1, rank = sync_ ? sync_->rank() : 0;
  const auto indices = order_.indices(step);
  auto x0 = stats_.standardize(data_.get(indices));
  // The noise of the whole global batch is drawn, and this process takes its share, so that
  // data-parallel training equals one process training on the global batch.
  auto gen = make_generator(mix_seed(options_.seed, streams::kNoise, step), device_);
  auto shape = x0.sizes().vec();
  shape[0] *= world;
  auto t = rand({shape[0]}, gen, x0.options()).narrow(0, rank * x0.size(0), x0.size(0));
  auto eps = randn(shape, gen, x0.options()).narrow(0, rank * x0.size(0), x0.size(0));
  std::vector<int64_t> bshape(x0.dim(), 1);
  bshape[0] = x0.size(0);
  auto s = schedule_.signal_rate(t).view(bshape);
  auto n = schedule_.noise_rate(t).view(bshape);
  auto xt = s * x0 + n * eps;
  // Dropout draws from the global generator: seed it per step too.
  torch::manual_seed(mix_seed(options_.seed, streams::kDropout, step));
  torch::Tensor loss;
  {
    AutocastGuard autocast(device_, options_.bf16);
    // A diffusion autoencoder's condition comes from the clean images: the semantic encoder
    // trains jointly with the decoder (Diff-AE eq. 6).
    auto cond = condition(step, indices, x0);
    auto pred = model_->forward(xt, (n * n).view({-1}), cond);
    loss = distance(pred.to(torch::kFloat32), eps, options_.loss);
  }
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learning_rate(step));
  optimizer_->zero_grad();
  loss.backward();
  if (sync_) sync_->all_reduce(*model_);
  if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip);
  optimizer_->step();
  // BatchNorm statistics of each process saw only its share: average them, so that every
  // process holds the same model and EMA.
  if (sync_ && world > 1) sync_->average_buffers(*model_);
  ema_update(*ema_, *model_, ema_decay_at(options_.ema_decay, options_.ema_warmup, step));
  return loss.detach();
}

nlohmann::json DenoiserTrainer::log_values(int64_t) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> bshape(valid_x0_.dim(), 1);
  bshape[0] = valid_x0_.size(0);
  auto s = schedule_.signal_rate(valid_t_).view(bshape), n = schedule_.noise_rate(valid_t_).view(bshape);
  const auto cond = valid_cond_.defined() ? valid_cond_ : ema_->condition(valid_x0_);
  auto pred = ema_->forward(s * valid_x0_ + n * valid_eps_, (n * n).view({-1}), cond);
  return {{"ema_loss", distance(pred, valid_eps_, options_.loss).item<double>()}};
}

Checkpoint DenoiserTrainer::checkpoint(int64_t step) const {
  Checkpoint ck;
  ck.meta = ema_denoiser().describe();
  ck.meta["kind"] = "denoiser";
  ck.meta["step"] = step;
  ck.meta["epoch"] = static_cast<double>(step) / static_cast<double>(order_.steps_per_epoch());
  ck.meta["train"] = options_.to_json();
  ck.meta["world_size"] = sync_ ? sync_->world_size() : 1;
  for (const auto& [k, v] : extra_meta_.items()) ck.meta[k] = v;
  ck.states["model"] = module_state(*model_);
  ck.states["ema"] = module_state(*ema_);
  ck.blobs["optimizer"] = optimizer_bytes(*optimizer_);
  return ck;
}

void DenoiserTrainer::restore(const Checkpoint& ck, const std::string& what) {
  DDIM_CHECK(ck.kind() == "denoiser", "{}: not a denoiser checkpoint", what);
  load_module_state(*model_, checkpoint_state(ck, "model", what), what);
  load_module_state(*ema_, checkpoint_state(ck, "ema", what), what);
  const auto it = ck.blobs.find("optimizer");
  DDIM_CHECK(it != ck.blobs.end(), "{}: has no optimizer state to resume from", what);
  load_optimizer_bytes(*optimizer_, it->second, what);
  // The statistics the weights were trained with: those of the data, or of a warm start's model.
  if (ck.meta.contains("stats")) set_stats(stats_from_meta(ck.meta, what, stats_.mean.numel()));
}

Denoiser DenoiserTrainer::ema_denoiser() const {
  return Denoiser(ema_, schedule_options_, stats_, data_info_);
}

Preview DenoiserTrainer::class_preview(int64_t step) {
  // A row per class (the first ten), the same seeds in every row: what the class changes.
  torch::NoGradGuard no_grad;
  auto denoiser = ema_denoiser();
  auto gen = make_generator(mix_seed(options_.seed, streams::kPreview));
  const int64_t k = std::min<int64_t>(ema_->classes(), 10),
                cols = std::min<int64_t>(8, options_.preview_samples);
  std::vector<int64_t> shape = {cols};
  for (auto d : data_info_.shape) shape.push_back(d);
  const auto seeds = randn(shape, gen).repeat({k, 1, 1, 1}).to(device_);
  const auto labels = torch::arange(k).repeat_interleave(cols);
  const auto cond = class_condition(labels, ema_->classes()).to(device_);
  const auto grid = make_time_grid(schedule_, options_.preview_steps);
  const auto samples = denoiser.to_data(ddim_sample(denoiser.eps_fn(cond), seeds, grid).x).to(torch::kCPU);
  Preview p;
  p.name = "samples";
  p.title = fmt::format("step {}: a row per class, the same seeds in every row (S = {})", step,
                        options_.preview_steps);
  for (int64_t c = 0; c < k; ++c) {
    p.rows.push_back(samples.slice(0, c * cols, (c + 1) * cols));
    p.row_labels.push_back(data_info_.class_name(c));
  }
  return p;
}

std::optional<Preview> DenoiserTrainer::preview(int64_t step) {
  if (options_.preview_samples == 0) return std::nullopt;
  const bool image = data_info_.is_image();
  if (!image && data_info_.shape[0] < 2) return std::nullopt;
  torch::NoGradGuard no_grad;
  auto denoiser = ema_denoiser();
  auto gen = make_generator(mix_seed(options_.seed, streams::kPreview));
  // Point sets: enough samples to see the distribution in a scatter plot.
  int64_t n = image ? options_.preview_samples : std::max<int64_t>(options_.preview_samples, 2000);
  if (image && ema_->conditioning() == Conditioning::Class) return class_preview(step);
  // A diffusion autoencoder decodes the codes of validation images from fixed random seeds.
  torch::Tensor cond, originals;
  if (ema_->conditioning() == Conditioning::Semantic) {
    n = std::min(n, valid_x0_.size(0));
    originals = valid_x0_.slice(0, 0, n);
    cond = ema_->condition(originals);
  }
  std::vector<int64_t> shape = {n};
  for (auto d : data_info_.shape) shape.push_back(d);
  auto seeds = randn(shape, gen).to(device_);
  const auto grid = make_time_grid(schedule_, options_.preview_steps);
  auto samples = denoiser.to_data(ddim_sample(denoiser.eps_fn(cond), seeds, grid).x).to(torch::kCPU);
  Preview p;
  p.name = "samples";
  if (!image) {
    auto data = data_.storage.narrow(0, 0, std::min<int64_t>(data_.size(), 4000)).to(torch::kCPU);
    p.title = fmt::format("step {}: {} samples (S = {}) over the data", step, samples.size(0),
                          options_.preview_steps);
    p.points = samples.slice(1, 0, 2);
    p.data = data.slice(1, 0, 2);
    // The data's bounding box, half as large again: stray samples do not squash the picture.
    const auto lo = std::get<0>(p.data.min(0)), hi = std::get<0>(p.data.max(0)), pad = (hi - lo) * 0.25;
    p.limits = {(lo[0] - pad[0]).item<double>(), (hi[0] + pad[0]).item<double>(),
                (lo[1] - pad[1]).item<double>(), (hi[1] + pad[1]).item<double>()};
    return p;
  }
  if (cond.defined()) {
    // Rows of originals and of their decodings from random x_T, alternating.
    const int64_t cols = std::min<int64_t>(8, n);
    auto orig = denoiser.to_data(originals).to(torch::kCPU);
    for (int64_t i = 0; i < n; i += cols) {
      p.rows.push_back(orig.slice(0, i, std::min(n, i + cols)));
      p.rows.push_back(samples.slice(0, i, std::min(n, i + cols)));
    }
    p.columns = cols;
    return p;
  }
  p.rows = {samples};
  p.columns = static_cast<int64_t>(std::ceil(std::sqrt(double(samples.size(0)))));
  return p;
}

}  // namespace ddim
