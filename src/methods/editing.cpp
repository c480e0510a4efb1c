#include "ddim/methods/editing.h"

#include <cmath>
#include <map>
#include <tuple>

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/rng.h"

namespace ddim {
namespace {

constexpr uint64_t kSdeditStream = 0x5de;

// An image batch inverted along a grid, with the eps of every inversion step.
struct Inverted {
  TimeGrid grid;
  torch::Tensor seed;                   // x~_T, the encoded noise
  std::vector<torch::Tensor> step_eps;  // step_eps[j]: the eps of the step between grid points j + 1 and j
};

Inverted invert_recording(const Denoiser& d, const torch::Tensor& x0, const torch::Tensor& condition,
                          const EditOptions& o) {
  Inverted inv;
  inv.grid = make_time_grid(d.schedule(), o.inversion_steps);
  InvertOptions io;
  io.method = o.inversion;
  io.iterations = o.iterations;
  io.keep_eps = true;
  auto r = ddim_invert(d.eps_fn(condition), x0, inv.grid, io);
  inv.seed = r.x;
  // ddim_invert walks from the clean end: its first eps is that of the step S -> S - 1.
  inv.step_eps.assign(r.eps.rbegin(), r.eps.rend());
  return inv;
}

// The inversion step whose noisier end is nearest to time t.
size_t nearest_step(const TimeGrid& grid, double t) {
  size_t best = 0;
  for (size_t j = 1; j + 1 < grid.times.size(); ++j)
    if (std::abs(grid.times[j] - t) < std::abs(grid.times[best] - t)) best = j;
  return best;
}

// The guided reverse process from the inverted seed, with Direct Inversion's injection.
torch::Tensor guided_from_inversion(const Denoiser& d, const Inverted& inv, const torch::Tensor& target,
                                    const EditOptions& o) {
  const auto grid = make_time_grid(d.schedule(), o.steps);
  const auto eps_fn = d.eps_fn(target, o.guidance);
  const bool inject = o.method == EditMethod::DirectInversion && o.merge > 0;
  auto x = inv.seed;
  for (int64_t j = 0; j < grid.steps(); ++j) {
    throw_if_interrupted();
    auto eps = eps_fn(x, grid.rates[j]);
    if (inject && j % o.inject_every == 0 && grid.times[j] > o.inject_until) {
      // Fig. 4 merges the corresponding step's inverted eps; section 3.2 injects x~_T itself.
      const auto& injected = o.merge_with == InjectedNoise::EncodedNoise
                                 ? inv.seed
                                 : inv.step_eps[nearest_step(inv.grid, grid.times[j])];
      eps = (1 - o.merge) * eps + o.merge * injected;
    }
    x = ddim_step(x, eps, grid.rates[j], grid.rates[j + 1]);
  }
  return x;
}

// Noise for images first .. first + count - 1, one draw from each image's stream.
class SdeditNoise {
 public:
  SdeditNoise(uint64_t seed, int64_t first, int64_t count, std::vector<int64_t> shape)
      : shape_(std::move(shape)) {
    for (int64_t i = 0; i < count; ++i) streams_.push_back(sdedit_stream(seed, first + i));
  }
  torch::Tensor draw(const torch::Device& device) {
    std::vector<torch::Tensor> z;
    for (auto& g : streams_) z.push_back(randn(shape_, g));
    return torch::stack(z).to(device);
  }

 private:
  std::vector<int64_t> shape_;
  std::vector<at::Generator> streams_;
};

// SDEdit: the image noised to t0, then the guided reverse process from t0 with steps of the
// inference size, stochastic DDIM with the setting's η (Song et al. 2021 eq. 12, σ of eq. 16,
// as ddim_sample_step; here with each image's own noise).
torch::Tensor sdedit(const Denoiser& d, const torch::Tensor& x0, int64_t first, const torch::Tensor& target,
                     const EditOptions& o) {
  const auto steps = std::max<int64_t>(1, std::llround(static_cast<double>(o.steps) * o.strength));
  const auto grid = make_time_grid(d.schedule(), steps, GridEnd::PredictedX0, o.strength);
  SdeditNoise noise(o.seed, first, x0.size(0), x0.sizes().slice(1).vec());
  const auto eps_fn = d.eps_fn(target, o.guidance);
  const auto& start = grid.rates.front();
  auto x = start.signal * x0 + start.noise * noise.draw(x0.device());
  for (int64_t j = 0; j < grid.steps(); ++j) {
    throw_if_interrupted();
    const auto& from = grid.rates[j];
    const auto& to = grid.rates[j + 1];
    const auto eps = eps_fn(x, from);
    if (o.eta > 0 && to.noise > 0) {
      const auto k = stochastic_scales(from, to, o.eta);
      x = to.signal * (x - from.noise * eps) / from.signal + k.direction * eps +
          k.noise * noise.draw(x.device());
    } else {
      x = ddim_step(x, eps, from, to);
    }
  }
  return x;
}

}  // namespace

template <>
const NameTable<EditMethod>& name_table<EditMethod>() {
  static const NameTable<EditMethod> table{"edit method",
                                           {{EditMethod::DirectInversion, "direct-inversion"},
                                            {EditMethod::Inversion, "inversion"},
                                            {EditMethod::SDEdit, "sdedit"}}};
  return table;
}

template <>
const NameTable<InversionCondition>& name_table<InversionCondition>() {
  static const NameTable<InversionCondition> table{
      "inversion condition", {{InversionCondition::Null, "null"}, {InversionCondition::Source, "source"}}};
  return table;
}

template <>
const NameTable<InjectedNoise>& name_table<InjectedNoise>() {
  static const NameTable<InjectedNoise> table{
      "injected noise", {{InjectedNoise::InvertedEps, "eps"}, {InjectedNoise::EncodedNoise, "xT"}}};
  return table;
}

at::Generator sdedit_stream(uint64_t seed, int64_t index) {
  DDIM_CHECK_ARG(index >= 0, "an image index must not be negative, got {}", index);
  return make_generator(mix_seed(seed, kSdeditStream, static_cast<uint64_t>(index)));
}

void EditOptions::validate() const {
  DDIM_CHECK_ARG(inversion_steps > 0 && steps > 0,
                 "inversion and inference steps must be positive, got {} and {}", inversion_steps, steps);
  DDIM_CHECK_ARG(iterations > 0, "fixed-point inversion needs at least one iteration, got {}", iterations);
  DDIM_CHECK_ARG(std::isfinite(guidance) && guidance >= 0,
                 "the guidance scale must be a finite number >= 0, got {}", guidance);
  DDIM_CHECK_ARG(merge >= 0 && merge <= 1, "the noise merge λ must be in [0, 1], got {}", merge);
  DDIM_CHECK_ARG(inject_every > 0, "the injection interval must be positive, got {}", inject_every);
  DDIM_CHECK_ARG(inject_until >= 0 && inject_until <= 1, "the injection stop time must be in [0, 1], got {}",
                 inject_until);
  DDIM_CHECK_ARG(strength > 0 && strength <= 1, "the SDEdit strength (a time) must be in (0, 1], got {}",
                 strength);
  DDIM_CHECK_ARG(std::isfinite(eta) && eta >= 0, "SDEdit's eta must be a finite number >= 0, got {}", eta);
}

std::string EditOptions::describe() const {
  switch (method) {
    case EditMethod::DirectInversion:
      return fmt::format("direct inversion ({} inversion, merge {}), w = {:g}, lambda = {:g}",
                         to_string(inversion_condition), to_string(merge_with), guidance, merge);
    case EditMethod::Inversion:
      return fmt::format("inversion ({}) + guided sampling, w = {:g}", to_string(inversion_condition),
                         guidance);
    case EditMethod::SDEdit:
      return fmt::format("SDEdit from t0 = {:g}, w = {:g}, eta = {:g}, seed {}", strength, guidance, eta,
                         seed);
  }
  return "?";
}

nlohmann::ordered_json EditOptions::to_json() const {
  nlohmann::ordered_json j;
  j["method"] = to_string(method);
  j["guidance"] = guidance;
  j["steps"] = steps;
  if (method != EditMethod::SDEdit) {
    j["inversion_steps"] = inversion_steps;
    j["inversion"] = to_string(inversion);
    if (inversion == InversionMethod::FixedPoint) j["iterations"] = iterations;
    j["inversion_condition"] = to_string(inversion_condition);
  }
  if (method == EditMethod::DirectInversion) {
    j["merge"] = merge;
    j["merge_with"] = to_string(merge_with);
    j["inject_every"] = inject_every;
    j["inject_until"] = inject_until;
  }
  if (method == EditMethod::SDEdit) {
    j["strength"] = strength;
    j["eta"] = eta;
    j["seed"] = seed;
  }
  return j;
}

std::vector<torch::Tensor> edit_images(const Denoiser& d, const torch::Tensor& images,
                                       const torch::Tensor& source, const torch::Tensor& target,
                                       const std::vector<EditOptions>& settings, int64_t batch,
                                       const ProgressFn& progress) {
  DDIM_CHECK_ARG(!settings.empty(), "no edit settings");
  for (const auto& o : settings) o.validate();
  DDIM_CHECK_ARG(d.network().conditioning() == Conditioning::Class,
                 "editing by class needs a class-conditional model");
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  const auto& info = d.data();
  const int64_t n = images.size(0);
  DDIM_CHECK_ARG(images.dim() == 4 && images.sizes().slice(1).vec() == info.shape && n > 0,
                 "images of shape {} do not fit the model, whose examples are {}",
                 fmt::join(images.sizes(), "x"), fmt::join(info.shape, "x"));
  const int64_t k = d.network().cond_dim();
  DDIM_CHECK_ARG(target.dim() == 2 && target.size(0) == n && target.size(1) == k,
                 "target conditions of shape {} do not fit {} images of a {}-class model",
                 fmt::join(target.sizes(), "x"), n, k - 1);
  DDIM_CHECK_ARG(!source.defined() || source.sizes() == target.sizes(),
                 "source conditions of shape {}, expected {}", fmt::join(source.sizes(), "x"),
                 fmt::join(target.sizes(), "x"));
  for (const auto& o : settings)
    DDIM_CHECK_ARG(source.defined() || o.method == EditMethod::SDEdit ||
                       o.inversion_condition == InversionCondition::Null,
                   "{}: inverting under the source class needs the source conditions", o.describe());
  torch::NoGradGuard no_grad;
  const auto device = d.device();
  std::vector<std::vector<torch::Tensor>> out(settings.size());
  int64_t done = 0;
  for (int64_t i = 0; i < n; i += batch) {
    const int64_t end = std::min(n, i + batch);
    const auto x0 = d.standardize(images.slice(0, i, end).to(device));
    const auto null = null_condition(end - i, k - 1).to(device);
    const auto src = source.defined() ? source.slice(0, i, end).to(device) : null;
    const auto tgt = target.slice(0, i, end).to(device);
    // Settings that invert alike share one inversion.
    std::map<std::tuple<int64_t, int, int64_t, int>, Inverted> inversions;
    for (size_t s = 0; s < settings.size(); ++s) {
      const auto& o = settings[s];
      torch::Tensor x;
      if (o.method == EditMethod::SDEdit) {
        x = sdedit(d, x0, i, tgt, o);
      } else {
        const bool under_source = o.inversion_condition == InversionCondition::Source;
        const auto key = std::make_tuple(o.inversion_steps, static_cast<int>(o.inversion),
                                         o.inversion == InversionMethod::FixedPoint ? o.iterations : 0,
                                         static_cast<int>(o.inversion_condition));
        auto it = inversions.find(key);
        if (it == inversions.end())
          it = inversions.emplace(key, invert_recording(d, x0, under_source ? src : null, o)).first;
        x = guided_from_inversion(d, it->second, tgt, o);
      }
      out[s].push_back(info.crop(d.to_data(x)).to(torch::kCPU));
      done += end - i;
      if (progress) progress(done);
    }
  }
  std::vector<torch::Tensor> result;
  for (auto& parts : out) result.push_back(torch::cat(parts));
  return result;
}

}  // namespace ddim
