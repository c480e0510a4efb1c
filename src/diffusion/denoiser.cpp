#include "ddim/diffusion/denoiser.h"

#include <cmath>

#include "ddim/core/autocast.h"
#include "ddim/core/error.h"
#include "ddim/core/limits.h"
#include "io/allocation_budget.h"

namespace ddim {

Denoiser::Denoiser(std::shared_ptr<EpsNetwork> network, const ScheduleOptions& schedule, Standardizer stats,
                   DataInfo data)
    : network_(std::move(network)), schedule_(schedule), stats_(std::move(stats)), data_(std::move(data)) {}

torch::Device Denoiser::device() const {
  auto params = network_->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

void Denoiser::to(const torch::Device& device) {
  network_->to(device);
  stats_.mean = stats_.mean.to(device);
  stats_.std = stats_.std.to(device);
}

Condition Condition::slice(int64_t begin, int64_t end) const {
  return {vectors.defined() ? vectors.slice(0, begin, end) : vectors, guidance};
}

EpsFn Denoiser::eps_fn(const torch::Tensor& cond, double w) const {
  DDIM_CHECK_ARG(std::isfinite(w) && w >= 0, "the guidance scale must be a finite number >= 0, got {}", w);
  auto net = network_;
  const bool bf16 = bf16_, classes = net->conditioning() == Conditioning::Class;
  DDIM_CHECK_ARG(w == 1.0 || classes,
                 "classifier-free guidance needs a class-conditional model (guidance {})", w);
  auto call = [net, bf16](const torch::Tensor& x, const Rates& r, const torch::Tensor& c) {
    auto v = torch::full({x.size(0)}, r.noise * r.noise, x.options());
    if (!bf16) return net->forward(x, v, c);
    AutocastGuard autocast(x.device(), true);
    return net->forward(x, v, c).to(torch::kFloat);
  };
  if (!classes) return [call, cond](const torch::Tensor& x, const Rates& r) { return call(x, r, cond); };
  const int64_t k = net->classes();
  return [call, cond, w, k](const torch::Tensor& x, const Rates& r) {
    const auto null = null_condition(x.size(0), k).to(x.device());
    if (!cond.defined() || w == 0.0) return call(x, r, null);
    if (w == 1.0) return call(x, r, cond);
    // Ho & Salimans 2022, eq. 6: both branches in one batch (BatchNorm in eval mode and
    // GroupNorm treat every example on its own, so batching changes nothing).
    const auto both = call(torch::cat({x, x}), r, torch::cat({cond, null})).chunk(2);
    return both[1] + w * (both[0] - both[1]);
  };
}

torch::Tensor Denoiser::class_condition(const torch::Tensor& labels) const {
  DDIM_CHECK_ARG(network_->conditioning() == Conditioning::Class, "this model is not class-conditional");
  return ddim::class_condition(labels, network_->classes());
}

torch::Tensor Denoiser::to_data(const torch::Tensor& x) const {
  auto y = stats_.destandardize(x);
  return data_.is_image() ? y.clamp(0.0, 1.0) : y;
}

std::pair<double, double> Denoiser::standardized_range() const {
  if (!data_.is_image()) return {-INFINITY, INFINITY};
  auto lo = ((0 - stats_.mean) / stats_.std).min().item<double>();
  auto hi = ((1 - stats_.mean) / stats_.std).max().item<double>();
  return {lo, hi};
}

nlohmann::json Denoiser::describe() const {
  auto mean = stats_.mean.to(torch::kCPU).contiguous(), std = stats_.std.to(torch::kCPU).contiguous();
  return {{"arch", network_->describe()},
          {"schedule", schedule_.options().to_json()},
          {"stats",
           {{"mean", std::vector<float>(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel())},
            {"std", std::vector<float>(std.data_ptr<float>(), std.data_ptr<float>() + std.numel())}}},
          {"data", data_.to_json()},
          {"parameters", count_parameters(*network_)}};
}

template <>
const NameTable<Weights>& name_table<Weights>() {
  static const NameTable<Weights> table{"weights", {{Weights::EMA, "ema"}, {Weights::Raw, "raw"}}};
  return table;
}

Standardizer stats_from_meta(const nlohmann::json& meta, const std::string& what, int64_t channels) {
  Standardizer stats;
  stats.mean = torch::tensor(meta_get<std::vector<float>>(meta, "stats.mean", what));
  stats.std = torch::tensor(meta_get<std::vector<float>>(meta, "stats.std", what));
  DDIM_CHECK_ARG(stats.mean.numel() == channels && stats.std.numel() == channels,
                 "{}: checkpoint metadata: key 'stats': {} means and {} deviations for {} channels", what,
                 stats.mean.numel(), stats.std.numel(), channels);
  DDIM_CHECK_ARG(stats.std.gt(0).all().item<bool>(),
                 "{}: checkpoint metadata: key 'stats.std': deviations must be positive", what);
  return stats;
}

Denoiser denoiser_from_checkpoint(const Checkpoint& ck, const std::string& what, Weights weights) {
  DDIM_CHECK(ck.kind() == "denoiser", "{}: is a ddim {} checkpoint, but a denoiser is needed here", what,
             ck.kind().empty() ? "unknown" : ck.kind());
  const auto& m = ck.meta;
  const std::string state = weights == Weights::EMA ? "ema" : "model";
  const auto it = ck.states.find(state);
  DDIM_CHECK(it != ck.states.end(), "{}: has no '{}' weights", what, state);
  // The metadata describe the network to build; its weights are in the file, so building
  // takes about their size. A description that asks for far more is refused before it is built.
  detail::AllocationBudget budget(detail::network_budget(it->second));
  const auto net = meta_parse(m, "arch", what, [](const nlohmann::json& j) { return make_network(j); });
  const auto schedule = meta_parse(m, "schedule", what, [](const nlohmann::json& j) {
    const auto o = ScheduleOptions::from_json(j);
    Schedule check(o);  // validates
    return o;
  });
  auto data = meta_parse(m, "data", what, DataInfo::from_json);
  // Checkpoints written before DataInfo named its class attribute keep it in their data options.
  if (data.class_attribute.empty() && m.contains("data_options") && m["data_options"].is_object() &&
      !data.classes.empty()) {
    const auto a = m["data_options"].value("class_attribute", std::string());
    if (!a.empty()) data.class_attribute = a;
  }
  const auto stats = stats_from_meta(m, what, data.shape[0]);
  load_module_state(*net, it->second, what);
  net->eval();
  for (auto& p : net->parameters()) p.set_requires_grad(false);
  return Denoiser(net, schedule, stats, data);
}

Denoiser load_denoiser(const std::string& path, Weights weights) {
  return denoiser_from_checkpoint(load_checkpoint(path), path, weights);
}

std::string denoiser_fingerprint(const Checkpoint& ck) {
  // FNV-1a over the description and the EMA weights' bytes.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  for (const auto& key : {"arch", "schedule", "stats", "data"}) {
    if (!ck.meta.contains(key)) continue;
    const auto s = ck.meta.at(key).dump();
    mix(s.data(), s.size());
  }
  const auto it = ck.states.find("ema");
  if (it != ck.states.end())
    for (const auto& [name, t] : it->second) {
      mix(name.data(), name.size());
      auto c = t.contiguous();
      mix(c.data_ptr(), c.nbytes());
    }
  return fmt::format("{:016x}", h);
}

}  // namespace ddim
