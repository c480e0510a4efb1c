#include <cmath>

#include "ddim/core/error.h"
#include "ddim/diffusion/schedule.h"
#include "support.h"

using namespace ddim;

namespace {
Schedule make(ScheduleKind k) {
  ScheduleOptions o;
  o.kind = k;
  return Schedule(o);
}
// alpha-bar_i by the product formula, computed independently in double precision.
double alpha_bar(double beta_lo, double beta_hi, int T, int i, bool quadratic) {
  double a = 1.0;
  for (int j = 1; j <= i; ++j) {
    double b;
    if (quadratic) {
      const double lo = std::sqrt(beta_lo), hi = std::sqrt(beta_hi);
      b = std::pow(lo + (hi - lo) * (j - 1) / (T - 1), 2);
    } else {
      b = beta_lo + (beta_hi - beta_lo) * (j - 1) / (T - 1);
    }
    a *= 1 - b;
  }
  return a;
}
}  // namespace

TEST(Schedule, ContinuousCosineMatchesItsFormula) {
  auto s = make(ScheduleKind::ContinuousCosine);
  EXPECT_NEAR(s.rates(0).signal, 0.95, 1e-12);
  EXPECT_NEAR(s.rates(1).signal, 0.02, 1e-12);
  const double t = 0.3;
  const double theta = std::acos(0.95) + t * (std::acos(0.02) - std::acos(0.95));
  EXPECT_NEAR(s.rates(t).signal, std::cos(theta), 1e-12);
  EXPECT_NEAR(s.rates(t).noise, std::sin(theta), 1e-12);
}

TEST(Schedule, ContinuousCosineEndpointsAreConfigurable) {
  ScheduleOptions o;
  o.min_signal_rate = 0.1;
  o.max_signal_rate = 0.99;
  Schedule s(o);
  EXPECT_NEAR(s.rates(0).signal, 0.99, 1e-12);
  EXPECT_NEAR(s.rates(1).signal, 0.1, 1e-12);
  o.min_signal_rate = 0.99;
  EXPECT_THROW(Schedule{o}, InvalidArgument);
}

TEST(Schedule, LinearAndQuadraticMatchTheProductFormula) {
  auto lin = make(ScheduleKind::Linear);
  auto quad = make(ScheduleKind::Quadratic);
  for (int i : {1, 10, 500, 999, 1000}) {
    EXPECT_NEAR(lin.alpha(i / 1000.0), alpha_bar(1e-4, 0.02, 1000, i, false), 1e-9) << i;
    EXPECT_NEAR(quad.alpha(i / 1000.0), alpha_bar(1e-4, 0.02, 1000, i, true), 1e-9) << i;
  }
  EXPECT_NEAR(lin.alpha(0), 1.0, 1e-15);
  // Between table points the interpolation is linear in alpha-bar.
  const double a = alpha_bar(1e-4, 0.02, 1000, 300, false), b = alpha_bar(1e-4, 0.02, 1000, 301, false);
  EXPECT_NEAR(lin.alpha(0.3005), 0.5 * (a + b), 1e-9);
}

TEST(Schedule, CosineMatchesNicholDhariwal) {
  auto cos = make(ScheduleKind::Cosine);
  auto f = [](double t) { return std::pow(std::cos((t + 0.008) / 1.008 * M_PI / 2), 2); };
  // Where beta is not clipped, the discrete product telescopes to f(t)/f(0).
  for (double t : {0.1, 0.5, 0.9}) EXPECT_NEAR(cos.alpha(t), f(t) / f(0), 1e-9) << t;
  // The last beta is clipped at 0.999, so alpha(1) = 0.001 alpha(1 - 1/T) instead of 0.
  EXPECT_NEAR(cos.alpha(1.0), 0.001 * cos.alpha(0.999), 1e-12);
  EXPECT_GT(cos.alpha(1.0), 0.0);
}

TEST(Schedule, EveryScheduleIsMonotoneAndNormalised) {
  for (const auto& name : name_table<ScheduleKind>().names()) {
    auto s = make(from_string<ScheduleKind>(name));
    auto t = torch::linspace(0, 1, 2001, torch::kFloat64);
    auto sig = s.signal_rate(t), noise = s.noise_rate(t);
    EXPECT_TRUE((sig.slice(0, 1) - sig.slice(0, 0, -1)).le(0).all().item<bool>()) << name;
    EXPECT_TRUE(torch::allclose(sig * sig + noise * noise, torch::ones_like(sig), 0, 1e-12)) << name;
    EXPECT_GE(sig.min().item<double>(), 0.0) << name;
    EXPECT_LE(sig.max().item<double>(), 1.0) << name;
    EXPECT_LT(s.rates(1.0).signal, 0.03) << name;  // t = 1 is (almost) pure noise
  }
}

TEST(Schedule, NamesAndJsonRoundTrip) {
  for (const auto& name : name_table<ScheduleKind>().names())
    EXPECT_EQ(to_string(from_string<ScheduleKind>(name)), name);
  try {
    from_string<ScheduleKind>("sigmoid");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("valid: continuous-cosine, linear, quadratic, cosine"),
              std::string::npos);
  }
  ScheduleOptions o;
  o.kind = ScheduleKind::Quadratic;
  o.timesteps = 200;
  auto back = ScheduleOptions::from_json(o.to_json());
  EXPECT_EQ(back.kind, ScheduleKind::Quadratic);
  EXPECT_EQ(back.timesteps, 200);
}
