// Options shared by the commands that run the DDIM sampler or its inversion.
#pragma once

#include "common.h"
#include "ddim/ddim.h"
#include "ddim/denoiser.h"

namespace ddim::cli {

struct SamplerArgs {
  int64_t steps = 10;
  double eta = 0.0;
  bool clip = false;
  std::string end = "x0";
  int64_t batch = 256;
  std::string weights = "ema";
  bool bf16 = false;

  TimeGrid grid(const Denoiser& d) const {
    return make_time_grid(d.schedule(), steps, end == "x0" ? GridEnd::PredictedX0 : GridEnd::ScheduleZero);
  }
  SampleOptions sample_options(const Denoiser& d) const {
    SampleOptions o;
    o.eta = eta;
    if (clip) o.clip_x0 = d.standardized_range();
    return o;
  }
};

/// --bf16: the denoiser's evaluations in bf16 autocast (Denoiser::set_mixed_precision).
inline void add_bf16_flag(CLI::App* sub, bool& bf16) {
  sub->add_flag("--bf16", bf16,
                "Run the denoiser in bf16 autocast (the DDIM update stays fp32): GPUs with bf16 "
                "tensor cores, CPUs with AVX512-BF16 or AMX; slower on other CPUs");
}

inline void add_sampler_options(CLI::App* sub, SamplerArgs& a, bool sampling = true) {
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
  sub->add_option("--end", a.end,
                  "Last grid point: x0 (the paper: return the prediction made at t = 1/S) or t0 (x at "
                  "t = 0 under the schedule)")
      ->check(CLI::IsMember({"x0", "t0"}))
      ->capture_default_str();
  sub->add_option("--batch", a.batch, "Images per batch (memory)")->check(kPositive)->capture_default_str();
  sub->add_option("--weights", a.weights, "ema (the paper samples with the EMA network) or raw")
      ->check(CLI::IsMember({"ema", "raw"}))
      ->capture_default_str();
  add_bf16_flag(sub, a.bf16);
}

/// Loads the denoiser named by --model onto the runtime device.
inline Denoiser load_model(const std::string& path, const SamplerArgs& a, const torch::Device& device) {
  auto d = load_denoiser(path, weights_from_string(a.weights));
  d.to(device);
  d.set_mixed_precision(a.bf16);
  return d;
}

}  // namespace ddim::cli
