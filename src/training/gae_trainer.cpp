#include "ddim/training/gae_trainer.h"

#include <mutex>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/methods/embedding.h"
#include "ddim/training/ema.h"

#include "training/streams.h"

namespace ddim {
namespace {

bool has_images(const GaeData& d) { return d.images.storage.defined() && d.images.is_image(); }

// The labels of the partition's attribute parts, in its order.
std::vector<torch::Tensor> partition_labels(const GaeData& data, const Partition& partition) {
  const auto& attributes = data.images.attributes;
  std::vector<torch::Tensor> labels;
  for (const auto& name : partition.attributes()) {
    const auto& a = attributes[find_attribute(attributes, name, data.images.spec)];
    DDIM_CHECK_ARG(a.labels.defined() && a.labels.dim() == 1 && a.labels.size(0) == data.size(),
                   "{}: attribute '{}' needs a label for each of the {} examples", data.images.spec, name,
                   data.size());
    labels.push_back(a.labels);
  }
  return labels;
}

std::shared_ptr<EpsNetwork> copy_network(const EpsNetwork& source, bool trainable) {
  auto net = make_network(source.describe());
  copy_weights(*net, source);
  for (auto& p : net->parameters()) p.set_requires_grad(trainable);
  if (!trainable) net->eval();
  return net;
}

nlohmann::json attribute_names_and_values(const std::vector<Attribute>& attributes) {
  auto j = nlohmann::json::array();
  for (const auto& a : attributes) j.push_back({{"name", a.name}, {"values", a.values}});
  return j;
}
}  // namespace

nlohmann::json GaeTrainOptions::to_json() const { return fields_to_json(*this); }

GaeTrainOptions GaeTrainOptions::from_json(const nlohmann::json& j) {
  return fields_from_json<GaeTrainOptions>(j);
}

void GaeTrainOptions::validate() const {
  DDIM_CHECK_ARG(batch > 1, "a GAE batch needs at least two groups, got {}", batch);
  DDIM_CHECK_ARG(lr > 0, "the learning rate must be positive, got {}", lr);
  DDIM_CHECK_ARG(weights.lambda_ss >= 0 && weights.lambda_ur >= 0 && gamma >= 0,
                 "the loss weights must not be negative, got lambda_ss {}, lambda_ur {}, gamma {}",
                 weights.lambda_ss, weights.lambda_ur, gamma);
  DDIM_CHECK_ARG(ema_decay >= 0 && ema_decay < 1, "the EMA decay must be in [0, 1), got {}", ema_decay);
  DDIM_CHECK_ARG(validation_groups > 1, "validation needs at least two groups, got {}", validation_groups);
  DDIM_CHECK_ARG(preview_images >= 0 && preview_steps > 0,
                 "preview images must not be negative and preview steps must be positive, got {} and {}",
                 preview_images, preview_steps);
}

GaeData gae_data(const Denoiser& autoencoder, const Dataset& data, bool codes, int64_t batch,
                 const ProgressFn& progress) {
  DDIM_CHECK_ARG(data.is_image() && data.size() > 1, "{}: a GAE trains on images (at least two)", data.spec);
  DDIM_CHECK_ARG(!data.attributes.empty(),
                 "{}: the data has no attributes to group by (fonts has five; a folder "
                 "gets them from an attributes file)",
                 data.spec);
  DDIM_CHECK_ARG(autoencoder.network().conditioning() == Conditioning::Semantic,
                 "the model is not a diffusion autoencoder: it has no semantic code z_sem");
  GaeData d;
  d.images = data;
  if (codes) d.codes = semantic_codes(autoencoder, data, batch, progress);
  return d;
}

GaeTrainer::GaeTrainer(const Denoiser& autoencoder, const AutoencoderRef& ref, const Partition& partition,
                       const GaeOptions& arch, const GaeData& train, const GaeData* validation,
                       const GaeTrainOptions& options, const torch::Device& device, nlohmann::json extra_meta,
                       GradientSync* sync)
    : options_(options),
      device_(device),
      ref_(ref),
      partition_(partition),
      arch_(arch),
      train_(train),
      validation_(validation ? *validation : train),
      autoencoder_description_(autoencoder.describe()),
      schedule_options_(ScheduleOptions::from_json(autoencoder.describe().at("schedule"))),
      schedule_(schedule_options_),
      stats_(autoencoder.stats()),
      info_(autoencoder.data()),
      extra_meta_(std::move(extra_meta)),
      sync_(sync),
      order_(train.size(), options.batch, options.seed, sync ? sync->world_size() : 1,
             sync ? sync->rank() : 0),
      sampler_(partition_labels(train, partition), options.seed) {
  options_.validate();
  arch_.validate();
  const int64_t z_dim = autoencoder.network().cond_dim();
  DDIM_CHECK_ARG(z_dim > 0, "the model is not a diffusion autoencoder: it has no semantic code z_sem");
  DDIM_CHECK_ARG(arch_.z_dim == z_dim && arch_.dis_dim == partition_.dim(),
                 "the GAE maps {} to {} dimensions, but z_sem has {} and the partition {} {}", arch_.z_dim,
                 arch_.dis_dim, z_dim, partition_.to_string(), partition_.dim());
  DDIM_CHECK_ARG(options_.finetune || train_.codes.defined(),
                 "post hoc GAE training needs the codes of its data");
  DDIM_CHECK_ARG(!options_.finetune || has_images(train_), "fine-tuning a DiffuseGAE needs its images");
  DDIM_CHECK_ARG(
      !train_.codes.defined() || (train_.codes.dim() == 2 && train_.codes.size(1) == z_dim &&
                                  (!has_images(train_) || train_.codes.size(0) == train_.images.size())),
      "codes must be [N, {}], one for each image", z_dim);
  DDIM_CHECK_ARG(!has_images(train_) || train_.images.example_shape() == info_.shape,
                 "the data ({}) does not have the autoencoder's shape ({})",
                 fmt::join(train_.images.example_shape(), "x"), fmt::join(info_.shape, "x"));
  {
    // The initial weights are a function of the seed (see DenoiserTrainer).
    static std::mutex init_mutex;
    std::lock_guard<std::mutex> lock(init_mutex);
    torch::manual_seed(mix_seed(options_.seed, streams::kInit));
    gae_ = std::make_shared<Gae>(arch_);
    gae_ema_ = std::make_shared<Gae>(arch_);
  }
  ae_ema_ = copy_network(autoencoder.network(), false);
  trainable_ = std::make_shared<torch::nn::Module>("GaeTrainable");
  trainable_->register_module("gae", gae_);
  if (options_.finetune) {
    ae_ = copy_network(autoencoder.network(), true);
    trainable_->register_module("autoencoder", ae_);
  }
  trainable_->to(device_);
  ae_ema_->to(device_);
  gae_ema_->to(device_);
  stats_.mean = stats_.mean.to(device_);
  stats_.std = stats_.std.to(device_);
  for (auto* d : {&train_, &validation_}) {
    if (has_images(*d)) d->images.storage = d->images.storage.to(device_);
    if (d->codes.defined()) d->codes = d->codes.to(device_);
  }
  // The GAE standardises z_sem with the statistics of the training codes (of at most 4096
  // images when fine-tuning without codes).
  if (train_.codes.defined()) {
    gae_->set_statistics(train_.codes);
  } else {
    torch::NoGradGuard no_grad;
    gae_->set_statistics(codes_of(torch::arange(std::min<int64_t>(4096, train_.size())), train_, true));
  }
  if (sync_) {
    sync_->broadcast(*trainable_);
    sync_->attach(*trainable_);
  }
  // Fine-tuning moves z_sem: standardise it by its batches, so that shrinking it cannot lower
  // L_dis (gae.h); post hoc the codes are fixed and their statistics are those of all of them.
  gae_->track_statistics(options_.finetune);
  copy_weights(*gae_ema_, *gae_);
  gae_ema_->eval();
  for (auto& p : gae_ema_->parameters()) p.set_requires_grad(false);
  optimizer_ =
      std::make_unique<torch::optim::Adam>(trainable_->parameters(), torch::optim::AdamOptions(options_.lr));
  // Fixed validation groups: the first examples as centres, members and reassembly from
  // their own streams.
  const int64_t nv = std::min<int64_t>(options_.validation_groups, validation_.size());
  GroupSampler vs(partition_labels(validation_, partition_), mix_seed(options_.seed, streams::kValid));
  valid_centres_ = torch::arange(nv);
  valid_members_ = vs.members(valid_centres_, 0);
  valid_sources_ = vs.reassembly(nv, static_cast<int64_t>(partition_.size()), 0);
}

void GaeTrainer::initialise_from(const GaeModel& trained) {
  DDIM_CHECK_ARG(trained.partition.to_string() == partition_.to_string(),
                 "the trained GAE's partition {} is not this run's {}", trained.partition.to_string(),
                 partition_.to_string());
  DDIM_CHECK_ARG(trained.gae->options().to_json() == arch_.to_json(),
                 "the trained GAE's architecture differs from this run's");
  copy_weights(*gae_, *trained.gae);
  copy_weights(*gae_ema_, *trained.gae);
  for (auto& p : gae_->parameters()) p.set_requires_grad(true);
  if (sync_) sync_->broadcast(*trainable_);
}

int64_t GaeTrainer::examples_per_step() const { return options_.batch * (sync_ ? sync_->world_size() : 1); }

torch::Tensor GaeTrainer::codes_of(const torch::Tensor& indices, const GaeData& data, bool ema) {
  const auto idx = indices.to(torch::kInt64).to(device_);
  if (data.codes.defined() && !options_.finetune) return data.codes.index_select(0, idx);
  auto x = stats_.standardize(data.images.get(idx));
  AutocastGuard autocast(device_, options_.bf16);
  return (ema ? ae_ema_ : ae_)->condition(x).to(torch::kFloat32);
}

torch::Tensor GaeTrainer::step(int64_t step) {
  trainable_->train();
  const int64_t world = sync_ ? sync_->world_size() : 1, rank = sync_ ? sync_->rank() : 0;
  const auto centres = order_.indices(step);
  const auto members = sampler_.members(centres, step, world, rank);
  const auto sources = sampler_.reassembly(centres.size(0), static_cast<int64_t>(partition_.size()), step);
  const int64_t b = centres.size(0), m = members.size(1);
  // Dropout (in a fine-tuned Diff-AE) draws from the global generator: seed it per step.
  torch::manual_seed(mix_seed(options_.seed, streams::kDropout, static_cast<uint64_t>(step)));
  const auto z = codes_of(torch::cat({centres, members.reshape({-1})}), train_, false);
  const auto zc = z.narrow(0, 0, b), zm = z.narrow(0, b, b * m).view({b, m, z.size(1)});
  last_ = gae_losses(*gae_, partition_, zc, zm, sources.to(device_), options_.weights, options_.loss);
  last_z_std_ = zc.detach().std(0).mean();
  auto loss = last_.total;
  if (options_.finetune) {
    // eq. 12: the Diff-AE's noise loss, its decoder conditioned on z_sem-hat of the centres.
    auto x0 = stats_.standardize(train_.images.get(centres.to(device_)));
    auto gen = make_generator(mix_seed(options_.seed, streams::kNoise, static_cast<uint64_t>(step)), device_);
    auto shape = x0.sizes().vec();
    shape[0] *= world;
    auto t = rand({shape[0]}, gen, x0.options()).narrow(0, rank * b, b);
    auto eps = randn(shape, gen, x0.options()).narrow(0, rank * b, b);
    std::vector<int64_t> bshape(x0.dim(), 1);
    bshape[0] = b;
    auto s = schedule_.signal_rate(t).view(bshape), n = schedule_.noise_rate(t).view(bshape);
    {
      AutocastGuard autocast(device_, options_.bf16);
      auto pred = ae_->forward(s * x0 + n * eps, (n * n).view({-1}), gae_->forward(zc));
      last_simple_ = distance(pred.to(torch::kFloat32), eps, Loss::MAE);
    }
    loss = last_simple_ + options_.gamma * loss;
  }
  optimizer_->zero_grad();
  loss.backward();
  if (sync_) sync_->all_reduce(*trainable_);
  optimizer_->step();
  const double decay = ema_decay_at(options_.ema_decay, options_.ema_warmup, step);
  ema_update(*gae_ema_, *gae_, decay);
  if (options_.finetune) ema_update(*ae_ema_, *ae_, decay);
  return loss.detach();
}

GaeLosses GaeTrainer::validation_losses() {
  torch::NoGradGuard no_grad;
  const int64_t b = valid_centres_.size(0), m = valid_members_.size(1);
  const auto z = codes_of(torch::cat({valid_centres_, valid_members_.reshape({-1})}), validation_, true);
  valid_z_std_ = z.narrow(0, 0, b).std(0).mean();
  return gae_losses(*gae_ema_, partition_, z.narrow(0, 0, b), z.narrow(0, b, b * m).view({b, m, z.size(1)}),
                    valid_sources_.to(device_), options_.weights, options_.loss);
}

nlohmann::json GaeTrainer::log_values(int64_t) {
  const auto v = validation_losses();
  // z_sem's standard deviation (over the batch, averaged over dimensions): it must not
  // shrink while fine-tuning (gae.h).
  if (!last_.total.defined())
    return {{"valid_l_dis", v.total.item<double>()}, {"valid_z_sem_std", valid_z_std_.item<double>()}};
  nlohmann::json j = {
      {"l_r", last_.reconstruction.item<double>()},    {"l_ss", last_.swap.item<double>()},
      {"l_ur", last_.reassembly.item<double>()},       {"valid_l_r", v.reconstruction.item<double>()},
      {"valid_l_ss", v.swap.item<double>()},           {"valid_l_ur", v.reassembly.item<double>()},
      {"valid_l_dis", v.total.item<double>()},         {"z_sem_std", last_z_std_.item<double>()},
      {"valid_z_sem_std", valid_z_std_.item<double>()}};
  if (last_simple_.defined()) j["l_simple"] = last_simple_.item<double>();
  return j;
}

Checkpoint GaeTrainer::checkpoint(int64_t step) const {
  Checkpoint ck;
  ck.meta["kind"] = "gae";
  ck.meta["gae"] = arch_.to_json();
  ck.meta["partition"] = partition_.to_json();
  ck.meta["attributes"] = attribute_names_and_values(train_.images.attributes);
  auto ref = ref_;
  ref.finetuned = ref.finetuned || options_.finetune;
  ck.meta["autoencoder"] = ref.to_json();
  ck.meta["autoencoder_model"] = autoencoder_description_;
  ck.meta["data"] = info_.to_json();
  ck.meta["parameters"] = count_parameters(*gae_);
  ck.meta["step"] = step;
  ck.meta["epoch"] = static_cast<double>(step) / static_cast<double>(order_.steps_per_epoch());
  ck.meta["world_size"] = sync_ ? sync_->world_size() : 1;
  ck.meta["train"] = options_.to_json();
  for (const auto& [k, v] : extra_meta_.items()) ck.meta[k] = v;
  ck.states["model"] = module_state(*gae_);
  ck.states["ema"] = module_state(*gae_ema_);
  ck.states["autoencoder"] = module_state(*ae_ema_);
  if (options_.finetune) ck.states["autoencoder_raw"] = module_state(*ae_);
  ck.blobs["optimizer"] = optimizer_bytes(*optimizer_);
  return ck;
}

void GaeTrainer::restore(const Checkpoint& ck, const std::string& what) {
  DDIM_CHECK(ck.kind() == "gae", "{}: not a GAE checkpoint", what);
  load_module_state(*gae_, ck.states.at("model"), what);
  load_module_state(*gae_ema_, ck.states.at("ema"), what);
  const auto ae = ck.states.find("autoencoder");
  DDIM_CHECK(ae != ck.states.end(), "{}: has no autoencoder weights", what);
  load_module_state(*ae_ema_, ae->second, what);
  if (options_.finetune) {
    const auto raw = ck.states.find("autoencoder_raw");
    DDIM_CHECK(raw != ck.states.end(), "{}: has no fine-tuned autoencoder weights to resume from", what);
    load_module_state(*ae_, raw->second, what);
  }
  const auto it = ck.blobs.find("optimizer");
  DDIM_CHECK(it != ck.blobs.end(), "{}: has no optimizer state to resume from", what);
  load_optimizer_bytes(*optimizer_, it->second, what);
}

std::optional<Preview> GaeTrainer::preview(int64_t step) {
  const GaeData& source = has_images(validation_) ? validation_ : train_;
  if (options_.preview_images == 0 || !has_images(source)) return std::nullopt;
  torch::NoGradGuard no_grad;
  const int64_t k = std::min<int64_t>(options_.preview_images, source.images.size());
  if (k < 2) return std::nullopt;
  const auto images = source.images.slice(0, k).to(device_);
  const auto e = gae_ema_->encode(ae_ema_->condition(stats_.standardize(images)));
  // Every row decodes from the same random x_T, so that only the codes differ.
  auto gen = make_generator(mix_seed(options_.seed, streams::kPreview));
  std::vector<int64_t> shape = {k};
  shape.insert(shape.end(), info_.shape.begin(), info_.shape.end());
  const auto seeds = randn(shape, gen).to(device_);
  const Denoiser denoiser(ae_ema_, schedule_options_, stats_, info_);
  const auto grid = make_time_grid(schedule_, options_.preview_steps);
  auto decode = [&](const torch::Tensor& codes) {
    return info_.crop(denoiser.to_data(ddim_sample(denoiser.eps_fn(gae_ema_->decode(codes)), seeds, grid).x))
        .cpu();
  };
  Preview p;
  p.name = "preview";
  p.title =
      fmt::format("step {}: rows swap one part of z_dis with the next column's image (random x_T, S = {})",
                  step, options_.preview_steps);
  p.rows = {info_.crop(images).cpu(), decode(e)};
  p.row_labels = {"original", "D(E(z))"};
  const auto next = e.roll(-1, 0);
  for (const auto& name : partition_.attributes()) {
    p.rows.push_back(decode(swap_partitions(e, next, partition_, {name})));
    p.row_labels.push_back(name + " of next");
  }
  return p;
}

}  // namespace ddim
