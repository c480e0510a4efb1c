// `ddim schedule`: the paper's Fig. 6 (alpha(t) of each schedule, PNG + CSV) and Fig. 7 (one
// real image noised at increasing t under each schedule, alpha_t above each image).
#include "ddim/diffusion/schedule.h"
#include "commands.h"
#include "common/common.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/rng.h"
#include "ddim/io/image.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/plot.h"

namespace ddim::cli {
namespace {

struct ScheduleArgs {
  std::string kind = "all";
  std::string out = "schedules";
  DataSource data;
  int64_t index = 0;
  int64_t columns = 11;
  int64_t points = 1001;
  ScheduleOptions options;
};

std::vector<Schedule> make_schedules(const ScheduleArgs& a) {
  std::vector<ScheduleKind> kinds;
  if (a.kind == "all")
    for (const auto& [k, name] : name_table<ScheduleKind>().entries) kinds.push_back(k);
  else
    kinds.push_back(from_string<ScheduleKind>(a.kind));
  std::vector<Schedule> schedules;
  for (auto k : kinds) {
    auto o = a.options;
    o.kind = k;
    schedules.emplace_back(o);
  }
  return schedules;
}

// Fig. 6: alpha(t) = s(t)^2 on a fine grid, as CSV and as a chart.
void write_curves(const std::string& out, const std::vector<Schedule>& schedules, int64_t points) {
  auto t = torch::linspace(0, 1, points, torch::kFloat64);
  std::string csv = "t";
  std::vector<torch::Tensor> alphas;
  std::vector<Series> series;
  for (const auto& s : schedules) {
    csv += "," + to_string(s.options().kind);
    alphas.push_back(s.signal_rate(t).pow(2));
    series.push_back(Series::line(to_string(s.options().kind), t, alphas.back()));
  }
  csv += "\n";
  for (int64_t r = 0; r < points; ++r) {
    csv += fmt::format("{:.6f}", t[r].item<double>());
    for (const auto& al : alphas) csv += fmt::format(",{:.8g}", al[r].item<double>());
    csv += "\n";
  }
  write_file_atomic(out + "/alpha.csv", csv);
  PlotOptions p;
  p.title = "noise schedules: alpha(t) = s(t)^2 (seed paper Fig. 6)";
  p.xlabel = "t";
  p.ylabel = "alpha(t)";
  optional_chart([&] { plot_xy(out + "/alpha.png", series, p); });
}

// Fig. 7: one image, the same noise, at `columns` times from 0 to 1 under each schedule.
void write_strip(const ScheduleArgs& a, const std::vector<Schedule>& schedules, const torch::Tensor& image) {
  const auto x0 = image * 2 - 1;  // shown in [-1, 1] units
  auto gen = make_generator(global_options().seed);
  const auto eps = randn(x0.sizes(), gen);
  std::vector<torch::Tensor> rows;
  std::vector<std::string> labels;
  std::vector<std::vector<std::string>> captions;
  nlohmann::ordered_json j;
  j["times"] = std::vector<double>();
  for (int64_t c = 0; c < a.columns; ++c) j["times"].push_back(static_cast<double>(c) / (a.columns - 1));
  for (const auto& s : schedules) {
    std::vector<torch::Tensor> row;
    std::vector<std::string> caps;
    std::vector<double> alpha_row;
    for (int64_t c = 0; c < a.columns; ++c) {
      const auto r = s.rates(static_cast<double>(c) / (a.columns - 1));
      row.push_back(((r.signal * x0 + r.noise * eps + 1) / 2).clamp(0, 1));
      caps.push_back(fmt::format("{:.3f}", r.signal * r.signal));
      alpha_row.push_back(r.signal * r.signal);
    }
    rows.push_back(torch::cat(row));
    labels.push_back(to_string(s.options().kind));
    captions.push_back(caps);
    j["alpha"][to_string(s.options().kind)] = alpha_row;
  }
  LabeledRowsOptions lo;
  lo.zoom = 3;
  lo.title = "one image noised at t = 0 ... 1; alpha_t above each (seed paper Fig. 7)";
  write_png(a.out + "/noising.png", labeled_rows(rows, labels, captions, lo));
  write_json(a.out + "/schedules.json", j);
}

int run_schedule(const ScheduleArgs& a) {
  init_runtime();
  const auto schedules = make_schedules(a);
  auto source = seeded(a.data);
  source.options.limit = a.index + 1;
  const auto data = source.load();
  DDIM_CHECK_ARG(data.is_image(), "--data {}: the noising strip needs images", a.data.spec);
  DDIM_CHECK_ARG(a.index < data.size(), "--index {} is beyond the {} examples", a.index, data.size());
  open_run_dir(a.out);
  write_curves(a.out, schedules, a.points);
  write_strip(a, schedules, data.slice(a.index, a.index + 1));
  spdlog::info("wrote {}/alpha.png, alpha.csv, noising.png, schedules.json", a.out);
  return 0;
}

}  // namespace

void setup_schedule(CLI::App& app) {
  auto a = std::make_shared<ScheduleArgs>();
  auto* sub = app.add_subcommand(
      "schedule", "Draw the noise schedules: alpha(t) curves and a noising strip (paper Fig. 6-7)");
  auto kinds = name_table<ScheduleKind>().names();
  kinds.push_back("all");
  sub->add_option("--kind", a->kind, "Schedule: continuous-cosine, linear, quadratic, cosine, or all")
      ->check(CLI::IsMember(kinds))
      ->capture_default_str();
  sub->add_option("--out", a->out, "Output directory")->capture_default_str();
  add_data_options(sub, a->data, Split::Test);
  sub->add_option("--index", a->index, "Which image of the split to noise")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--columns", a->columns, "Images per row (times 0 .. 1)")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  sub->add_option("--points", a->points, "Points of the curves and the CSV")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  sub->add_option("--min-signal", a->options.min_signal_rate, "Continuous cosine: signal rate at t = 1")
      ->capture_default_str();
  sub->add_option("--max-signal", a->options.max_signal_rate, "Continuous cosine: signal rate at t = 0")
      ->capture_default_str();
  sub->add_option("--timesteps", a->options.timesteps, "Discrete schedules: T")
      ->check(kPositive)
      ->capture_default_str();
  on_run(sub, [a] { return run_schedule(*a); });
}

}  // namespace ddim::cli
