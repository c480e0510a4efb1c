// Editing real images towards a class with a class-conditional denoiser and classifier-free
// guidance, without optimisation or fine-tuning: Direct Inversion (Elarabawy et al. 2022,
// ../shared/seeds/direct-inversion.txt) and the two baselines it is measured against.
//
//   direct-inversion  invert the image along the inversion grid, recording the eps of every
//                     inversion step; then run the guided reverse process from the inverted
//                     seed and, at the injection steps, merge the guided eps with the
//                     inverted eps of the corresponding time (its Fig. 4, section 3.2)
//   inversion         the same without injection: DDIM inversion, then guided sampling
//   sdedit            noise the image to an intermediate time t0 (the strength), then
//                     guided DDIM from t0 (Meng et al. 2022)
//
// The Direct Inversion update, at inference step j from x_j (time t_j) to x_{j+1}:
//   eps_g = eps(x_j, t_j, ∅) + w (eps(x_j, t_j, c) - eps(x_j, t_j, ∅))      guidance to class c
//   eps   = (1 - λ) eps_g + λ eps~(t_j)   at injection steps (j mod k = 0 and t_j > t_stop)
//         = eps_g                         otherwise
//   x_{j+1} = s_{j+1} (x_j - n_j eps) / s_j + n_{j+1} eps                    (DDIM, eta = 0)
// where eps~(t_j) is the eps the inversion used for its step between the inversion grid point
// nearest to t_j and the next less noisy one: its noisier end is labelled t_j, the label the
// sampler evaluates at (ddim.h). The paper merges "the outputted noise with the corresponding
// timestep's inverted noise" with a "noise merge lambda"; the convex combination above is our
// reading of it. With equal grids, λ = 1 at every step replays the inversion backwards and
// returns the image exactly (whatever the guidance); λ = 0 is the `inversion` baseline; λ = 0
// and w = 0 is plain inversion and unconditional sampling, a reconstruction.
//
// The inversion runs under the image's source class (the plain conditional eps), or under the
// null class when the source is unknown.
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

struct EditOptions {
  EditMethod method = EditMethod::DirectInversion;
  int64_t inversion_steps = 50;  ///< steps of the inversion grid (the paper: 100)
  int64_t steps = 50;            ///< inference steps (the paper: 100)
  InversionMethod inversion = InversionMethod::DDIM;
  int64_t iterations = 3;     ///< fixed-point inversion: K per step
  double guidance = 3.0;      ///< w: classifier-free guidance towards the target class
  double merge = 0.5;         ///< λ: the weight of the injected inverted eps (direct-inversion)
  int64_t inject_every = 1;   ///< k: inject at every k-th inference step
  double inject_until = 0.0;  ///< t_stop: inject while t > t_stop
  double strength = 0.5;      ///< sdedit: the time t0 in (0, 1] the image is noised to
  uint64_t seed = 0;          ///< sdedit: the noise's stream

  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
  /// "direct inversion, w = 3, lambda = 0.5", for titles and logs (ASCII: the PNG font has no Greek).
  std::string describe() const;
  nlohmann::ordered_json to_json() const;
};

/// Edits images [N, C, H, W] in [0, 1] (the model's shape) towards the classes `target`
/// (class conditions [N, classes + 1], network.h's class_condition), the inversion running
/// under `source` (the same layout; undefined: the null class), once for every setting:
/// returns one [N, C, H, W] tensor in [0, 1] a setting, padding cropped, on the CPU. Settings
/// that invert alike share one inversion per batch. `progress` counts images x settings.
std::vector<torch::Tensor> edit_images(const Denoiser& denoiser, const torch::Tensor& images,
                                       const torch::Tensor& source, const torch::Tensor& target,
                                       const std::vector<EditOptions>& settings, int64_t batch = 256,
                                       const ProgressFn& progress = {});

}  // namespace ddim
