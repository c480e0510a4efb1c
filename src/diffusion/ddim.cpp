#include "ddim/diffusion/ddim.h"

#include <cmath>

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/rng.h"

namespace ddim {

template <>
const NameTable<GridEnd>& name_table<GridEnd>() {
  static const NameTable<GridEnd> table{"grid end",
                                        {{GridEnd::PredictedX0, "x0"}, {GridEnd::ScheduleZero, "t0"}}};
  return table;
}

template <>
const NameTable<InversionMethod>& name_table<InversionMethod>() {
  static const NameTable<InversionMethod> table{
      "inversion method", {{InversionMethod::DDIM, "ddim"}, {InversionMethod::FixedPoint, "fixed-point"}}};
  return table;
}

template <>
const NameTable<EpsLabel>& name_table<EpsLabel>() {
  static const NameTable<EpsLabel> table{"eps label",
                                         {{EpsLabel::Target, "target"}, {EpsLabel::Current, "current"}}};
  return table;
}

TimeGrid make_time_grid(const Schedule& schedule, int64_t steps, GridEnd end, double t_max) {
  DDIM_CHECK_ARG(steps > 0, "the number of DDIM steps must be positive, got {}", steps);
  DDIM_CHECK_ARG(t_max > 0 && t_max <= 1, "the start time must be in (0, 1], got {}", t_max);
  TimeGrid g;
  for (int64_t k = 0; k <= steps; ++k) {
    // A grid of millions of steps takes seconds to build: an interrupt must not wait for it
    // (short grids never look, so a sampler given one stops at its first step, as before).
    if (k > 0 && k % 4096 == 0) throw_if_interrupted();
    const double t = t_max * (1.0 - static_cast<double>(k) / static_cast<double>(steps));
    g.times.push_back(k == steps ? 0.0 : t);
    g.rates.push_back(schedule.rates(g.times.back()));
  }
  if (end == GridEnd::PredictedX0) g.rates.back() = Rates{1.0, 0.0};
  return g;
}

torch::Tensor ddim_step(const torch::Tensor& x, const torch::Tensor& eps, const Rates& from,
                        const Rates& to) {
  // x0-hat = (x - n eps)/s ; x' = s' x0-hat + n' eps (seed paper Algorithm 2, lines 4-5).
  auto x0 = (x - from.noise * eps) / from.signal;
  return to.signal * x0 + to.noise * eps;
}

torch::Tensor ddim_sample_step(const EpsFn& eps_fn, const torch::Tensor& x, const Rates& from,
                               const Rates& to, const SampleOptions& o) {
  auto eps = eps_fn(x, from);
  auto x0 = (x - from.noise * eps) / from.signal;
  if (o.clip_x0) {
    x0 = x0.clamp(o.clip_x0->first, o.clip_x0->second);
    eps = (x - from.signal * x0) / from.noise;
  }
  if (o.eta > 0 && to.noise > 0) {
    const auto k = stochastic_scales(from, to, o.eta);
    auto z = randn(x.sizes(), *o.generator, x.options());
    return to.signal * x0 + k.direction * eps + k.noise * z;
  }
  return to.signal * x0 + to.noise * eps;
}

StochasticScales stochastic_scales(const Rates& from, const Rates& to, double eta) {
  if (eta == 0) return {to.noise, 0.0};
  // Song et al. 2021 eq. 12: keep sigma^2 of the noise fresh, the rest deterministic.
  const double a = from.signal * from.signal, a_next = to.signal * to.signal;
  const double sigma = eta * std::sqrt((1 - a_next) / (1 - a)) * std::sqrt(std::max(0.0, 1 - a / a_next));
  return {std::sqrt(std::max(0.0, 1 - a_next - sigma * sigma)), sigma};
}

DdimResult ddim_sample(const EpsFn& eps_fn, const torch::Tensor& x_T, const TimeGrid& grid,
                       const SampleOptions& o) {
  DDIM_CHECK_ARG(grid.steps() > 0, "an empty time grid");
  DDIM_CHECK_ARG(o.eta >= 0, "eta must not be negative, got {}", o.eta);
  DDIM_CHECK_ARG(o.eta == 0 || o.generator != nullptr, "stochastic DDIM (eta > 0) needs a generator");
  DdimResult r;
  auto x = x_T;
  if (o.keep_trajectory) r.trajectory.push_back(x.detach());
  for (int64_t k = 0; k < grid.steps(); ++k) {
    throw_if_interrupted();
    x = ddim_sample_step(eps_fn, x, grid.rates[k], grid.rates[k + 1], o);
    if (o.keep_trajectory) r.trajectory.push_back(x.detach());
  }
  r.x = x;
  return r;
}

DdimResult ddim_invert(const EpsFn& eps_fn, const torch::Tensor& x_0, const TimeGrid& grid,
                       const InvertOptions& o) {
  DDIM_CHECK_ARG(grid.steps() > 0, "an empty time grid");
  DDIM_CHECK_ARG(o.method != InversionMethod::FixedPoint || o.iterations > 0,
                 "fixed-point inversion needs at least one iteration, got {}", o.iterations);
  DdimResult r;
  auto x = x_0;
  if (o.keep_trajectory) r.trajectory.push_back(x.detach());
  for (int64_t k = grid.steps(); k > 0; --k) {
    throw_if_interrupted();
    const Rates& from = grid.rates[k];    // known point (less noisy)
    const Rates& to = grid.rates[k - 1];  // the point to solve for
    const bool target = o.method == InversionMethod::FixedPoint || o.label == EpsLabel::Target;
    auto eps = eps_fn(x, target ? to : from);
    auto x_next = ddim_step(x, eps, from, to);
    if (o.method == InversionMethod::FixedPoint) {
      // x' = s'(x - n eps(x'))/s + n' eps(x'): iterate on eps evaluated at the current x'.
      torch::Tensor eps_sum;
      for (int64_t i = 0; i < o.iterations; ++i) {
        eps = eps_fn(x_next, to);
        if (o.average) {
          eps_sum = eps_sum.defined() ? eps_sum + eps : eps;
          eps = eps_sum / static_cast<double>(i + 1);
        }
        x_next = ddim_step(x, eps, from, to);
      }
    }
    x = x_next;
    if (o.keep_trajectory) r.trajectory.push_back(x.detach());
    if (o.keep_eps) r.eps.push_back(eps.detach());
  }
  r.x = x;
  return r;
}

}  // namespace ddim
