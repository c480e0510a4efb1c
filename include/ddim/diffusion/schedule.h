// Noise schedules (seed paper section 3.2, Fig. 6-7), over continuous time t in [0, 1].
//
// A schedule gives the signal rate s(t) and the noise rate n(t) = sqrt(1 - s(t)^2) of the
// forward process x_t = s(t) x_0 + n(t) eps (the paper's alpha_t, DDIM's alpha-bar, is s^2).
// The network is conditioned on the noise variance n^2, not on a step index, so any schedule
// can drive any trained network.
//
//   continuous-cosine  theta(t) = acos(s_max) + t (acos(s_min) - acos(s_max)), s = cos theta
//                      (the authors' code; s_max 0.95, s_min 0.02: t = 0 is not a clean image)
//   linear             beta_i = linspace(1e-4, 0.02, T), alpha-bar_i = prod_{j<=i} (1 - beta_j)
//                      (Ho et al. 2020)
//   quadratic          beta_i = linspace(sqrt(1e-4), sqrt(0.02), T)^2 (DDIM's "quad")
//   cosine             alpha-bar(t) = f(t)/f(0), f(t) = cos^2(((t + 0.008)/1.008) pi/2), in its
//                      discrete form beta_i = min(1 - alpha-bar_i/alpha-bar_{i-1}, 0.999)
//                      (Nichol & Dhariwal 2021)
// Discrete schedules (T = 1000) put alpha-bar_i at t = i/T, with alpha-bar = 1 at t = 0, and
// interpolate linearly in between. Their s(1) is close to 0 (linear 0.0064, cosine 5e-5),
// which makes the first DDIM step ill-conditioned: sample them with x0 clipping.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "ddim/core/fields.h"
#include "ddim/core/names.h"

namespace ddim {

enum class ScheduleKind { ContinuousCosine, Linear, Quadratic, Cosine };

/// "continuous-cosine", "linear", "quadratic", "cosine".
DDIM_NAMED_ENUM(ScheduleKind);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::ContinuousCosine;
  double min_signal_rate = 0.02;  ///< continuous cosine: s(1)
  double max_signal_rate = 0.95;  ///< continuous cosine: s(0)
  int64_t timesteps = 1000;       ///< discrete schedules: T

  nlohmann::json to_json() const;
  static ScheduleOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field.required("kind", self.kind);
    field("min_signal_rate", self.min_signal_rate);
    field("max_signal_rate", self.max_signal_rate);
    field("timesteps", self.timesteps);
  }
};

/// The signal and noise rates at one time.
struct Rates {
  double signal = 1.0;
  double noise = 0.0;
};

class Schedule {
 public:
  explicit Schedule(const ScheduleOptions& options);

  /// s(t) for t in [0, 1] (any shape; float64 inside, returned in t's dtype).
  torch::Tensor signal_rate(const torch::Tensor& t) const;
  /// n(t) = sqrt(1 - s(t)^2).
  torch::Tensor noise_rate(const torch::Tensor& t) const;
  /// Both rates at a scalar time.
  Rates rates(double t) const;
  /// alpha(t) = s(t)^2 (the paper's alpha_t).
  double alpha(double t) const;

  const ScheduleOptions& options() const { return options_; }

 private:
  ScheduleOptions options_;
  torch::Tensor alpha_bar_;  ///< discrete: float64 [T + 1], alpha-bar at t = i/T
};

}  // namespace ddim
