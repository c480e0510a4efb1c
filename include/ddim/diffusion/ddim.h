// The deterministic DDIM reverse process and its inversion (seed paper Algorithm 2;
// Song et al. 2021; "there and back again" eq. 2-4), as free functions over a noise-prediction
// callable: no I/O, no model ownership, no device choice.
//
// Time grid. S steps visit t = 1, 1 - 1/S, ..., 1/S and end at the clean prediction: the
// paper's code evaluates the network S times and returns the last x0-hat (predicted at
// t = 1/S), discarding the final re-noising. Here that end point is a grid point with rates
// (s, n) = (1, 0), so one step function serves every step in both directions:
//     x0-hat = (x - n eps) / s,     x' = s' x0-hat + n' eps.
// Sampling walks the grid forwards (eps evaluated at the current point); inversion walks it
// backwards from the image, so that sampling an inverted seed with the same grid retraces
// the same points.
//
// Inversion needs eps(x', t') at the point it is solving for; plain DDIM inversion replaces
// it by eps(x, .) at the known point, labelled with the target time t' (default, the label
// the sampler will use at x') or the current time t (the literal reading of eq. 4, and the
// clean end point then has n = 0). Fixed-point inversion iterates eps <- eps(x'_k, t'),
// x'_{k+1} = s'(x - n eps)/s + n' eps (Meiri et al. 2023); ReNoise averages the iterates'
// eps. Inversion never clips.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ddim/core/names.h"
#include "ddim/diffusion/schedule.h"

namespace ddim {

/// Predicts the noise in x (standardised, [B, ...]) at the given rates.
using EpsFn = std::function<torch::Tensor(const torch::Tensor& x, const Rates& rates)>;

enum class GridEnd {
  PredictedX0,   ///< the paper's: the last step lands on x0-hat, rates (1, 0)
  ScheduleZero,  ///< the last step lands on x at t = 0 with the schedule's rates
};
/// "x0", "t0".
DDIM_NAMED_ENUM(GridEnd);

struct TimeGrid {
  std::vector<double> times;  ///< t_0 = t_max > t_1 > ... > t_S = 0
  std::vector<Rates> rates;   ///< rates at each time (the end point per GridEnd)
  int64_t steps() const { return static_cast<int64_t>(times.size()) - 1; }
};

/// The grid of S equal steps from t_max down to 0 (paper: t_max = 1).
TimeGrid make_time_grid(const Schedule& schedule, int64_t steps, GridEnd end = GridEnd::PredictedX0,
                        double t_max = 1.0);

/// One DDIM step from x at `from` to `to` with the noise estimate eps.
torch::Tensor ddim_step(const torch::Tensor& x, const torch::Tensor& eps, const Rates& from, const Rates& to);

struct SampleOptions {
  /// Stochastic DDIM (Song et al. 2021 eq. 12-16): sigma = eta sqrt((1 - a')/(1 - a))
  /// sqrt(1 - a/a') with a = s^2; 0 is the deterministic sampler. Needs `generator`.
  double eta = 0.0;
  at::Generator* generator = nullptr;
  /// Clamp x0-hat into [lo, hi] at every step (standardised units) and recompute eps from
  /// it. Off in the paper; helps schedules whose s(1) is nearly 0.
  std::optional<std::pair<double, double>> clip_x0;
  /// Keep every state x_0 .. x_S (detached).
  bool keep_trajectory = false;
};

struct DdimResult {
  torch::Tensor x;                        ///< the end state: the sample, or the seed
  std::vector<torch::Tensor> trajectory;  ///< grid states, in the order visited (if kept)
  std::vector<torch::Tensor> eps;         ///< inversion: the eps each step used, in step order (if kept)
};

/// The weights of a stochastic DDIM step from `from` to `to` (Song et al. 2021 eq. 12, a = s^2):
/// x' = s' x0-hat + direction eps + noise z, with noise = sigma = eta sqrt((1 - a')/(1 - a))
/// sqrt(1 - a/a') and direction = sqrt(1 - a' - sigma^2). eta = 0 gives {n', 0}.
struct StochasticScales {
  double direction = 0, noise = 0;
};
StochasticScales stochastic_scales(const Rates& from, const Rates& to, double eta);

/// One sampling step from x at `from` to `to`: eps evaluated at the current point, x0-hat
/// optionally clipped, stochastic when options.eta > 0. The step ddim_sample repeats.
torch::Tensor ddim_sample_step(const EpsFn& eps, const torch::Tensor& x, const Rates& from, const Rates& to,
                               const SampleOptions& options);

/// Runs the reverse process from x_T along `grid`. Differentiable when autograd is on.
DdimResult ddim_sample(const EpsFn& eps, const torch::Tensor& x_T, const TimeGrid& grid,
                       const SampleOptions& options = {});

enum class InversionMethod { DDIM, FixedPoint };
/// "ddim", "fixed-point".
DDIM_NAMED_ENUM(InversionMethod);
enum class EpsLabel { Target, Current };
/// "target", "current".
DDIM_NAMED_ENUM(EpsLabel);

struct InvertOptions {
  InversionMethod method = InversionMethod::DDIM;
  EpsLabel label = EpsLabel::Target;  ///< plain DDIM: the time label of the eps call
  int64_t iterations = 3;             ///< fixed point: K refinements per step
  bool average = false;               ///< fixed point: average the iterates' eps (ReNoise)
  bool keep_trajectory = false;
  /// Keep the eps each step used (detached): sampling the seed along the same grid with these
  /// eps retraces the inversion exactly (what Direct Inversion injects, editing.h).
  bool keep_eps = false;
};

/// Maps data x_0 (standardised) to a seed x_T along `grid` walked backwards.
DdimResult ddim_invert(const EpsFn& eps, const torch::Tensor& x_0, const TimeGrid& grid,
                       const InvertOptions& options = {});

}  // namespace ddim
