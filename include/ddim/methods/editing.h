// Editing real images towards a class with a class-conditional denoiser and classifier-free
// guidance, without optimisation or fine-tuning: Direct Inversion (Elarabawy et al. 2022,
// ../shared/seeds/direct-inversion.txt) and the two baselines it is measured against.
//
//   direct-inversion  invert the image along the inversion grid, recording the eps of every
//                     inversion step and the encoded noise x~_T; then run the guided reverse
//                     process from x~_T and, at the injection steps, merge the guided eps with
//                     the injected noise (its Fig. 4, section 3.2)
//   inversion         the same without injection: DDIM inversion, then guided sampling
//   sdedit            noise the image to an intermediate time t0 (the strength), then run the
//                     guided reverse process from t0, stochastic by default (Meng et al. 2022)
//
// The Direct Inversion update, at inference step j from x_j (time t_j) to x_{j+1}:
//   eps_g = eps(x_j, t_j, ∅) + w (eps(x_j, t_j, c) - eps(x_j, t_j, ∅))      guidance to class c
//   eps   = (1 - λ) eps_g + λ z_j   at injection steps (j mod k = 0 and t_j > t_stop)
//         = eps_g                   otherwise
//   x_{j+1} = s_{j+1} (x_j - n_j eps) / s_j + n_{j+1} eps                    (DDIM, eta = 0)
// The injected noise z_j is one of the paper's two descriptions (EditOptions::merge_with):
//   eps  (Fig. 4: "merge the outputted noise with the corresponding timestep's inverted
//        noise") z_j = eps~(t_j), the eps the inversion used for its step between the
//        inversion grid point nearest to t_j and the next less noisy one: its noisier end is
//        labelled t_j, the label the sampler evaluates at (ddim.h). With equal grids, λ = 1
//        at every step replays the inversion backwards and returns the image exactly
//        (whatever the guidance).
//   xT   (section 3.2: "repeated injection of the original encoded noise x~_T into the
//        intermediate noisy timesteps", the authors' pipeline's default) z_j = x~_T, the
//        final inverted noise, at every injection step.
// The paper calls λ the "noise merge lambda"; the convex combination above is our reading of
// how it merges. λ = 0 is the `inversion` baseline; λ = 0 and w = 0 is plain inversion and
// unconditional sampling, a reconstruction.
//
// The inversion runs under the null class by default, as the authors invert under the empty
// prompt (EditOptions::inversion_condition); under the image's source class (the plain
// conditional eps) on request.
//
// SDEdit (Meng et al. 2022) starts from x_t0 = s(t0) x_0 + n(t0) z and runs the reverse
// process from t0 with stochastic DDIM (Song et al. 2021 eq. 12, 16): η = 1, the default, is
// the ancestral (DDPM) sampler, a discretisation of the reverse SDE Meng et al. integrate; η = 0
// the deterministic DDIM sampler. Its noise comes from the setting's seed, image by image
// (sdedit_stream), so an edit depends neither on the batch size nor on the other images.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ddim/core/names.h"
#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/pipeline.h"

namespace ddim {

enum class EditMethod { DirectInversion, Inversion, SDEdit };
/// "direct-inversion", "inversion", "sdedit".
DDIM_NAMED_ENUM(EditMethod);

/// The condition the inversion runs under: the null class (the authors' empty prompt) or the
/// image's source class.
enum class InversionCondition { Null, Source };
/// "null", "source".
DDIM_NAMED_ENUM(InversionCondition);

/// What Direct Inversion merges the guided eps with (the header comment): each step's inverted
/// eps (Fig. 4) or the final inverted noise x~_T (section 3.2).
enum class InjectedNoise { InvertedEps, EncodedNoise };
/// "eps", "xT".
DDIM_NAMED_ENUM(InjectedNoise);

struct EditOptions {
  EditMethod method = EditMethod::DirectInversion;
  int64_t inversion_steps = 50;  ///< steps of the inversion grid (the paper: 100)
  int64_t steps = 50;            ///< inference steps (the paper: 100)
  InversionMethod inversion = InversionMethod::DDIM;
  /// The inversion's condition (direct-inversion, inversion): the null class, as the authors.
  InversionCondition inversion_condition = InversionCondition::Null;
  int64_t iterations = 3;  ///< fixed-point inversion: K per step
  double guidance = 3.0;   ///< w: classifier-free guidance towards the target class
  double merge = 0.5;      ///< λ: the weight of the injected noise (direct-inversion)
  /// direct-inversion: the noise merged in, each step's inverted eps or x~_T.
  InjectedNoise merge_with = InjectedNoise::InvertedEps;
  int64_t inject_every = 1;   ///< k: inject at every k-th inference step
  double inject_until = 0.0;  ///< t_stop: inject while t > t_stop
  double strength = 0.5;      ///< sdedit: the time t0 in (0, 1] the image is noised to
  double eta = 1.0;           ///< sdedit: stochastic DDIM's η; 1 is Meng et al.'s stochastic process
  uint64_t seed = 0;          ///< sdedit: the noise's stream (sdedit_stream)

  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
  /// "direct inversion, w = 3, lambda = 0.5", for titles and logs (ASCII: the PNG font has no Greek).
  std::string describe() const;
  nlohmann::ordered_json to_json() const;
};

/// The generator SDEdit draws image `index`'s noise from under `seed`: first the start noise z,
/// then, when η > 0, the fresh noise of every stochastic step in order; each draw has the
/// model's example shape.
at::Generator sdedit_stream(uint64_t seed, int64_t index);

/// Edits images [N, C, H, W] in [0, 1] (the model's shape) towards the classes `target`
/// (class conditions [N, classes + 1], network.h's class_condition), once for every setting;
/// settings whose inversion runs under the source class use `source` (the same layout; its
/// null-class rows invert under the null class; undefined: refused for such settings). Image
/// i of `images` is SDEdit's image `index` i (sdedit_stream). Returns one [N, C, H, W] tensor in [0, 1] a
/// setting, padding cropped, on the CPU. Settings that invert alike share one inversion per batch. `progress`
/// counts images x settings.
std::vector<torch::Tensor> edit_images(const Denoiser& denoiser, const torch::Tensor& images,
                                       const torch::Tensor& source, const torch::Tensor& target,
                                       const std::vector<EditOptions>& settings, int64_t batch = 256,
                                       const ProgressFn& progress = {});

}  // namespace ddim
