#include "ddim/diffusion/schedule.h"

#include <cmath>

#include "ddim/core/error.h"

namespace ddim {

template <>
const NameTable<ScheduleKind>& name_table<ScheduleKind>() {
  static const NameTable<ScheduleKind> table{"schedule",
                                             {{ScheduleKind::ContinuousCosine, "continuous-cosine"},
                                              {ScheduleKind::Linear, "linear"},
                                              {ScheduleKind::Quadratic, "quadratic"},
                                              {ScheduleKind::Cosine, "cosine"}}};
  return table;
}

nlohmann::json ScheduleOptions::to_json() const { return fields_to_json(*this); }

ScheduleOptions ScheduleOptions::from_json(const nlohmann::json& j) {
  return fields_from_json<ScheduleOptions>(j);
}

Schedule::Schedule(const ScheduleOptions& o) : options_(o) {
  if (o.kind == ScheduleKind::ContinuousCosine) {
    DDIM_CHECK_ARG(o.min_signal_rate > 0 && o.min_signal_rate < o.max_signal_rate && o.max_signal_rate <= 1,
                   "continuous cosine needs 0 < s_min < s_max <= 1, got s_min {} and s_max {}",
                   o.min_signal_rate, o.max_signal_rate);
    return;
  }
  DDIM_CHECK_ARG(o.timesteps >= 2 && o.timesteps <= 1000000,
                 "discrete schedules need 2 to 1,000,000 timesteps, got {}", o.timesteps);
  const int64_t T = o.timesteps;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor beta;
  switch (o.kind) {
    case ScheduleKind::Linear:
      beta = torch::linspace(1e-4, 0.02, T, opts);
      break;
    case ScheduleKind::Quadratic:
      beta = torch::linspace(std::sqrt(1e-4), std::sqrt(0.02), T, opts).pow(2);
      break;
    case ScheduleKind::Cosine: {
      auto f = [](const torch::Tensor& t) { return torch::cos((t + 0.008) / 1.008 * M_PI / 2).pow(2); };
      auto t = torch::arange(T + 1, opts) / static_cast<double>(T);
      auto abar = f(t) / f(torch::zeros({1}, opts));
      beta = (1 - abar.slice(0, 1) / abar.slice(0, 0, T)).clamp_max(0.999);
      break;
    }
    default:
      DDIM_FAIL("unhandled schedule");
  }
  alpha_bar_ = torch::cat({torch::ones({1}, opts), torch::cumprod(1 - beta, 0)});
}

torch::Tensor Schedule::signal_rate(const torch::Tensor& t_in) const {
  auto t = t_in.to(torch::kFloat64).clamp(0.0, 1.0);
  torch::Tensor s;
  if (options_.kind == ScheduleKind::ContinuousCosine) {
    const double start = std::acos(options_.max_signal_rate), end = std::acos(options_.min_signal_rate);
    s = torch::cos(start + t * (end - start));
  } else {
    // Linear interpolation of alpha-bar between the table entries at i/T.
    const auto table = alpha_bar_.to(t.device());
    auto pos = t * static_cast<double>(options_.timesteps);
    auto lo = pos.floor().clamp(0, options_.timesteps - 1);
    auto frac = pos - lo;
    auto idx = lo.to(torch::kInt64);
    auto a0 = table.index_select(0, idx.flatten()).view(t.sizes());
    auto a1 = table.index_select(0, (idx + 1).flatten()).view(t.sizes());
    s = (a0 + frac * (a1 - a0)).sqrt();
  }
  return s.to(t_in.scalar_type());
}

torch::Tensor Schedule::noise_rate(const torch::Tensor& t) const {
  auto s = signal_rate(t.to(torch::kFloat64));
  return (1 - s * s).clamp_min(0).sqrt().to(t.scalar_type());
}

Rates Schedule::rates(double t) const {
  const double s = signal_rate(torch::tensor(t, torch::kFloat64)).item<double>();
  return {s, std::sqrt(std::max(0.0, 1 - s * s))};
}

double Schedule::alpha(double t) const {
  const double s = rates(t).signal;
  return s * s;
}

}  // namespace ddim
