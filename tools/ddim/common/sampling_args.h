// Options shared by the commands that run the DDIM sampler or its inversion.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"

namespace ddim::cli {

/// The generator of the stochastic sampler's noise (eta > 0) in `ddim sample`: its own stream of
/// the seed, apart from the seeds' (the Python module's model.sample draws the same).
at::Generator eta_generator(uint64_t seed);

struct SamplerArgs {
  int64_t steps = 10;
  double eta = 0.0;
  bool clip = false;
  GridEnd end = GridEnd::PredictedX0;
  int64_t batch = 256;
  Weights weights = Weights::EMA;
  bool bf16 = false;

  TimeGrid grid(const Denoiser& d) const { return make_time_grid(d.schedule(), steps, end); }
  SampleOptions sample_options(const Denoiser& d) const {
    SampleOptions o;
    o.eta = eta;
    if (clip) o.clip_x0 = d.standardized_range();
    return o;
  }
};

/// The class a class-conditional model is conditioned on, and the guidance towards it.
struct ClassArgs {
  std::string name;  ///< K or NAME; "all" (every class), "label" (the data's labels); empty: ∅
  double guidance = 1.0;

  /// The condition of `n` examples: one class for all, the data's `labels`, or, without a class,
  /// none (a class-conditional model then runs with the null class ∅). Throws
  /// ddim::InvalidArgument for a class on a model that is not class-conditional, an unknown
  /// class, or "label" without labels.
  Condition condition(const Denoiser& d, int64_t n, const torch::Tensor& labels = {}) const;
};

/// --class (with `choices` added to K|NAME in the help) and, with `guidance`, --guidance.
void add_class_options(CLI::App* sub, ClassArgs& a, const std::string& choices = "", bool guidance = true);

/// --bf16: the denoiser's evaluations in bf16 autocast (Denoiser::set_mixed_precision).
void add_bf16_flag(CLI::App* sub, bool& bf16);

/// --steps, --end, --batch, --weights, --bf16, and with `sampling` --eta and --clip.
void add_sampler_options(CLI::App* sub, SamplerArgs& a, bool sampling = true);

/// Loads the denoiser of checkpoint `ck` (read from `path`) onto `device`, with the sampler's
/// weights and precision. A DiffuseGAE checkpoint (kind "gae") gives its Diff-AE conditioned
/// through the GAE, so that every command of a diffusion autoencoder decodes z_sem-hat
/// (ddim::model_from_checkpoint).
Denoiser load_model(const Checkpoint& ck, const std::string& path, const SamplerArgs& a,
                    const torch::Device& device);
/// The same from the file.
Denoiser load_model(const std::string& path, const SamplerArgs& a, const torch::Device& device);

/// Throws ddim::InvalidArgument naming `path` unless `d` is a diffusion autoencoder (the commands
/// of z_sem: encode, decode, train-latent, manipulate).
void require_autoencoder(const Denoiser& d, const std::string& path);

}  // namespace ddim::cli
