#include "ddim/methods/gae.h"

#include "ddim/core/error.h"

namespace ddim {

// ------------------------------------------------------------------ the model

DiffuseGAE::DiffuseGAE(std::shared_ptr<EpsNetwork> autoencoder, std::shared_ptr<Gae> gae)
    : autoencoder_(std::move(autoencoder)), gae_(std::move(gae)) {
  DDIM_CHECK_ARG(autoencoder_ && autoencoder_->conditioning() == Conditioning::Semantic,
                 "a DiffuseGAE needs a diffusion autoencoder");
  DDIM_CHECK_ARG(gae_ && gae_->options().z_dim == autoencoder_->cond_dim(),
                 "the GAE encodes {}-dimensional codes, the autoencoder's z_sem has {}",
                 gae_ ? gae_->options().z_dim : 0, autoencoder_->cond_dim());
  register_module("autoencoder", autoencoder_);
  register_module("gae", gae_);
}

torch::Tensor DiffuseGAE::condition(const torch::Tensor& x0) {
  return gae_->forward(autoencoder_->condition(x0));
}

torch::Tensor DiffuseGAE::codes(const torch::Tensor& x0) { return gae_->encode(autoencoder_->condition(x0)); }

nlohmann::json DiffuseGAE::describe() const {
  return {
      {"kind", "diffuse-gae"}, {"autoencoder", autoencoder_->describe()}, {"gae", gae_->options().to_json()}};
}

nlohmann::json AutoencoderRef::to_json() const {
  return {{"path", path}, {"fingerprint", fingerprint}, {"step", step}, {"finetuned", finetuned}};
}

AutoencoderRef AutoencoderRef::from_json(const nlohmann::json& j) {
  AutoencoderRef r;
  r.path = j.value("path", std::string());
  r.fingerprint = j.value("fingerprint", std::string());
  r.step = j.value("step", int64_t{0});
  r.finetuned = j.value("finetuned", false);
  return r;
}

Checkpoint autoencoder_checkpoint(const Checkpoint& ck, const std::string& what, Weights weights) {
  DDIM_CHECK(ck.kind() == "gae",
             "{}: is a ddim {} checkpoint, but a DiffuseGAE (a GAE checkpoint) is needed here", what,
             ck.kind().empty() ? "unknown" : ck.kind());
  Checkpoint ae;
  DDIM_CHECK(ck.meta.contains("autoencoder_model") && ck.meta.at("autoencoder_model").is_object(),
             "{}: damaged GAE description: no 'autoencoder_model' object", what);
  ae.meta = ck.meta.at("autoencoder_model");
  ae.meta["kind"] = "denoiser";
  // The description names the Diff-AE's data but not how it was read (a faces set resized to 32x32): the GAE
  // trained on the Diff-AE's data as the Diff-AE reads it, so its data options serve the Diff-AE's commands.
  if (!ae.meta.contains("data_options") && ck.meta.contains("data_options"))
    ae.meta["data_options"] = ck.meta.at("data_options");
  const bool raw = weights == Weights::Raw;
  const std::string state = raw && ck.states.count("autoencoder_raw") ? "autoencoder_raw" : "autoencoder";
  const auto it = ck.states.find(state);
  DDIM_CHECK(it != ck.states.end(), "{}: has no '{}' weights", what, state);
  ae.states["ema"] = it->second;
  return ae;
}

GaeModel gae_from_checkpoint(const Checkpoint& ck, const std::string& what, Weights weights) {
  const Checkpoint ae = autoencoder_checkpoint(ck, what, weights);  // checks the kind first
  const bool raw = weights == Weights::Raw;
  GaeOptions options;
  Partition partition;
  AutoencoderRef ref;
  std::vector<Attribute> attributes;
  try {
    options = GaeOptions::from_json(ck.meta.at("gae"));
    partition = Partition::from_json(ck.meta.at("partition"));
    ref = AutoencoderRef::from_json(ck.meta.at("autoencoder"));
    for (const auto& a : ck.meta.value("attributes", nlohmann::json::array()))
      attributes.push_back(
          {a.at("name").get<std::string>(), a.at("values").get<std::vector<std::string>>(), {}});
  } catch (const nlohmann::json::exception& e) {
    DDIM_FAIL("{}: damaged GAE description: {}", what, e.what());
  }
  auto autoencoder = denoiser_from_checkpoint(ae, what, Weights::EMA);
  auto gae = std::make_shared<Gae>(options);
  const std::string state = raw ? "model" : "ema";
  const auto it = ck.states.find(state);
  DDIM_CHECK(it != ck.states.end(), "{}: has no '{}' weights", what, state);
  load_module_state(*gae, it->second, what);
  gae->eval();
  for (auto& p : gae->parameters()) p.set_requires_grad(false);
  DDIM_CHECK(options.dis_dim == partition.dim(), "{}: the GAE's z_dis has {} dimensions, its partition {} {}",
             what, options.dis_dim, partition.to_string(), partition.dim());
  auto net = std::make_shared<DiffuseGAE>(autoencoder.network_ptr(), gae);
  net->eval();
  Denoiser model(net, ScheduleOptions::from_json(ae.meta.at("schedule")), autoencoder.stats(),
                 autoencoder.data());
  return {model, autoencoder, gae, partition, ref, attributes};
}

GaeModel load_gae(const std::string& path, Weights weights) {
  return gae_from_checkpoint(load_checkpoint(path), path, weights);
}

// ------------------------------------------------------------------ partitioned codes

PartitionedModel::PartitionedModel(const GaeModel& m)
    : denoiser_(m.denoiser),
      partition_(m.partition),
      gae_(m.gae),
      autoencoder_(m.autoencoder.network_ptr()) {}

PartitionedModel::PartitionedModel(const Denoiser& autoencoder, const Partition& partition)
    : denoiser_(autoencoder), partition_(partition), autoencoder_(autoencoder.network_ptr()) {
  const int64_t d = autoencoder.network().cond_dim();
  DDIM_CHECK_ARG(d > 0, "the model is not a diffusion autoencoder: it has no semantic code to divide");
  DDIM_CHECK_ARG(partition.dim() == d, "the partition {} covers {} dimensions, but z_sem has {}",
                 partition.to_string(), partition.dim(), d);
}

torch::Tensor PartitionedModel::encode(const torch::Tensor& images, int64_t batch) const {
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  DDIM_CHECK_ARG(images.dim() == 4 && images.size(0) > 0, "expected images [N, C, H, W], got {}",
                 fmt::join(images.sizes(), "x"));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    const auto x =
        denoiser_.standardize(images.slice(0, i, std::min(images.size(0), i + batch)).to(denoiser_.device()));
    auto z = autoencoder_->condition(x);
    out.push_back((gae_ ? gae_->encode(z) : z).to(torch::kCPU));
  }
  return torch::cat(out);
}

torch::Tensor PartitionedModel::condition(const torch::Tensor& codes) const {
  DDIM_CHECK_ARG(codes.dim() == 2 && codes.size(1) == partition_.dim(),
                 "codes of shape {} do not fit the partition {}", fmt::join(codes.sizes(), "x"),
                 partition_.to_string());
  if (!gae_) return codes.to(torch::kFloat32).cpu();
  torch::NoGradGuard no_grad;
  return gae_->decode(codes.to(torch::kFloat32).to(denoiser_.device())).to(torch::kCPU);
}

std::string PartitionedModel::describe() const {
  return gae_ ? fmt::format("DiffuseGAE (z_dis {})", partition_.to_string())
              : fmt::format("Diff-AE (z_sem {})", partition_.to_string());
}

}  // namespace ddim
