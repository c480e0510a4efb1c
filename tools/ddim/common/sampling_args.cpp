#include "common/sampling_args.h"

#include "common/options.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/methods/model.h"

namespace ddim::cli {

at::Generator eta_generator(uint64_t seed) { return make_generator(mix_seed(seed, 0xe7a)); }

void add_bf16_flag(CLI::App* sub, bool& bf16) {
  sub->add_flag("--bf16", bf16,
                "Run the denoiser in bf16 autocast (the DDIM update stays fp32): GPUs with bf16 "
                "tensor cores, CPUs with AVX512-BF16 or AMX; slower on other CPUs");
}

void add_sampler_options(CLI::App* sub, SamplerArgs& a, bool sampling) {
  sub->add_option("--steps", a.steps, "DDIM steps S (the paper uses 10)")
      ->check(kPositive)
      ->capture_default_str();
  if (sampling) {
    sub->add_option("--eta", a.eta, "Stochastic DDIM: 0 is deterministic, 1 is DDPM-like")
        ->check(CLI::Range(0.0, 10.0))
        ->capture_default_str();
    sub->add_flag("--clip", a.clip,
                  "Clip the predicted x0 to the data range at every step (off in the paper; helps "
                  "schedules whose s(1) is nearly 0)");
  }
  add_enum_option(sub, "--end", a.end,
                  "Last grid point: x0 (the paper: return the prediction made at t = 1/S) or t0 (x at "
                  "t = 0 under the schedule)");
  sub->add_option("--batch", a.batch, "Images per batch (memory)")->check(kPositive)->capture_default_str();
  add_enum_option(sub, "--weights", a.weights, "ema (the paper samples with the EMA network) or raw");
  add_bf16_flag(sub, a.bf16);
}

Condition ClassArgs::condition(const Denoiser& d, int64_t n, const torch::Tensor& labels) const {
  if (name.empty()) {
    // Without a class the guidance still applies (towards ∅ it is the unconditional eps).
    return Condition({}, guidance);
  }
  DDIM_CHECK_ARG(
      d.network().conditioning() == Conditioning::Class,
      "--class {}: this model is not class-conditional (train one with ddim train --class-conditional)",
      name);
  torch::Tensor l;
  if (name == "label") {
    DDIM_CHECK_ARG(labels.defined(), "--class label: these images have no labels");
    l = labels.to(torch::kInt64);
  } else {
    l = torch::full({n}, d.data().class_index(name, d.network().classes()), torch::kInt64);
  }
  return Condition(d.class_condition(l), guidance);
}

void add_class_options(CLI::App* sub, ClassArgs& a, const std::string& choices, bool guidance) {
  sub->add_option(
      "--class", a.name,
      "Class-conditional models: the class, K or NAME" + choices + " (default: none, the null class)");
  if (guidance)
    sub->add_option("--guidance", a.guidance,
                    "Classifier-free guidance w (Ho & Salimans 2022): 0 unconditional, 1 plain conditional, "
                    "> 1 stronger")
        ->check(kNonNegative)
        ->capture_default_str();
}

Denoiser load_model(const Checkpoint& ck, const std::string& path, const SamplerArgs& a,
                    const torch::Device& device) {
  return model_from_checkpoint(ck, path, {a.weights, a.bf16, device}).require_denoiser();
}

Denoiser load_model(const std::string& path, const SamplerArgs& a, const torch::Device& device) {
  return load_model(load_checkpoint(path), path, a, device);
}

void require_autoencoder(const Denoiser& d, const std::string& path) {
  DDIM_CHECK_ARG(d.network().conditioning() == Conditioning::Semantic,
                 "{} is not a diffusion autoencoder (train one with ddim train --arch diffae)", path);
}

}  // namespace ddim::cli
