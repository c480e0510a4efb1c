// `ddim edit`: edit real images towards classes with a class-conditional denoiser: Direct
// Inversion (Elarabawy et al. 2022) and its baselines, inversion + guided sampling and SDEdit,
// scored for fidelity and editability by ddim's own classifier.
#include "commands.h"
#include "common/common.h"
#include "common/inputs.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "ddim/analysis/evaluation.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/data/counterfactual.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/editing.h"
#include "ddim/nn/classifier.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/plot.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace ddim::cli {
namespace {

struct EditArgs {
  std::string model, classifier, out = "edits", from = "auto";
  InputArgs inputs;
  std::vector<std::string> to;
  std::vector<std::string> methods = {"direct-inversion"};
  std::vector<std::string> invert_under = {"null"}, merge_with = {"eps"};
  std::vector<double> guidance = {3.0}, merge = {0.5}, strength = {0.5};
  std::vector<int64_t> inversion_steps = {50}, steps = {50};
  EditOptions base;
  int64_t seeds = 1;
  bool exclude_same_class = false;
  int64_t batch = 256;
  Weights weights = Weights::EMA;
  bool bf16 = false;
  int64_t show = 8;
};

// Every combination of the methods and their parameters.
std::vector<EditOptions> settings_of(const EditArgs& a) {
  std::vector<EditOptions> out;
  for (const auto& name : a.methods) {
    const auto method = from_string<EditMethod>(name);
    // SDEdit does not invert: its settings do not multiply with the inversion grids.
    const auto inversion_steps =
        method == EditMethod::SDEdit ? std::vector<int64_t>{a.inversion_steps.front()} : a.inversion_steps;
    const auto& values = method == EditMethod::DirectInversion ? a.merge
                         : method == EditMethod::SDEdit        ? a.strength
                                                               : std::vector<double>{0.0};
    // The knobs a method does not have do not multiply its settings either.
    const auto conditions =
        method == EditMethod::SDEdit ? std::vector<std::string>{a.invert_under.front()} : a.invert_under;
    const auto merges_with =
        method == EditMethod::DirectInversion ? a.merge_with : std::vector<std::string>{a.merge_with.front()};
    // SDEdit is stochastic: its settings run under several noise seeds (Meng et al. average
    // over samples); the deterministic methods need one.
    const int64_t seeds = method == EditMethod::SDEdit ? a.seeds : 1;
    for (int64_t inv : inversion_steps)
      for (int64_t steps : a.steps)
        for (double w : a.guidance)
          for (const auto& condition : conditions)
            for (const auto& with : merges_with)
              for (double v : values)
                for (int64_t r = 0; r < seeds; ++r) {
                  auto o = a.base;
                  o.method = method;
                  o.inversion_steps = inv;
                  o.steps = steps;
                  o.guidance = w;
                  o.inversion_condition = from_string<InversionCondition>(condition);
                  o.merge_with = from_string<InjectedNoise>(with);
                  o.seed = global_options().seed + static_cast<uint64_t>(r);
                  if (method == EditMethod::DirectInversion) o.merge = v;
                  if (method == EditMethod::SDEdit) o.strength = v;
                  o.validate();
                  out.push_back(o);
                }
  }
  return out;
}

// The source class of each image: its label, else the classifier's guess, else the null class.
torch::Tensor source_labels(const EditArgs& a, const Denoiser& d, const Inputs& in,
                            const LoadedClassifier* c) {
  const int64_t n = in.images.size(0);
  if (a.from == "none") return torch::full({n}, -1, torch::kInt64);
  if (a.from != "auto")
    return torch::full({n}, d.data().class_index(a.from, d.network().classes()), torch::kInt64);
  if (in.labels.defined()) return in.labels.to(torch::kInt64);
  if (!c) return torch::full({n}, -1, torch::kInt64);
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < n; ++i) images.push_back(d.data().crop(in.images[i]));
  return classify(*c->network, conform_images(images, c->data)).first;
}

// The true edits, where the input images come from a data set that can render them (fonts,
// faces): each image with the model's class attribute set to the target and nothing else
// changed, [T * N] target-major like the edits, in [0, 1] and cropped like them. Undefined
// (with a note in the log) otherwise.
torch::Tensor true_edits(const Denoiser& d, const Inputs& in, const torch::Tensor& target) {
  if (!in.data || !has_counterfactuals(*in.data)) return {};
  // The attribute whose values are the model's classes (the one it was trained to condition on).
  const auto& classes = d.data().classes;
  // The model's class attribute when it names one; else the inputs' class attribute when it has
  // them, else the one attribute that has them (many attributes of faces are no/yes).
  const Attribute* attribute = nullptr;
  int matches = 0;
  for (const auto& a : in.data->attributes) {
    if (a.values != classes) continue;
    ++matches;
    if (!attribute || a.name == in.data->label_attribute) attribute = &a;
    if (a.name == d.data().class_attribute) {
      attribute = &a;
      matches = 1;
      break;
    }
  }
  if (attribute && attribute->name != in.data->label_attribute && matches > 1) attribute = nullptr;
  if (!attribute) {
    spdlog::warn(
        "{}: {} attribute has the model's classes as values; give the model's --class-attribute to "
        "score the edits against the true ones",
        in.data->spec, matches == 0 ? "no" : "more than one");
    return {};
  }
  const int64_t n = in.images.size(0);
  std::vector<int64_t> rows;
  std::vector<std::string> values;
  for (int64_t i = 0; i < target.size(0); ++i) {
    rows.push_back(i % n);
    values.push_back(classes[target[i].item<int64_t>()]);
  }
  return true_images(in, rows, attribute->name, values, d.data());
}

// Rows: the first images; columns: the original, then its edit to each target (Fig. 1).
void write_grid(const std::string& path, const torch::Tensor& originals, const torch::Tensor& edits,
                const std::vector<std::string>& targets, const std::string& title, int64_t show) {
  const int64_t n = originals.size(0), k = std::min(show, n), t = static_cast<int64_t>(targets.size());
  std::vector<torch::Tensor> rows;
  std::vector<std::string> labels;
  for (int64_t i = 0; i < k; ++i) {
    std::vector<torch::Tensor> row = {originals.slice(0, i, i + 1)};
    for (int64_t j = 0; j < t; ++j) row.push_back(edits.slice(0, j * n + i, j * n + i + 1));
    rows.push_back(torch::cat(row));
    labels.push_back(fmt::format("image {}", i));
  }
  std::vector<std::string> caption = {"original"};
  caption.insert(caption.end(), targets.begin(), targets.end());
  LabeledRowsOptions lo;
  lo.title = title;
  write_png(path, labeled_rows(rows, labels, {caption}, lo));
}

// A row per setting: the first images edited to the first target (a sweep of λ, w, t0).
void write_sweep(const std::string& path, const torch::Tensor& originals,
                 const std::vector<torch::Tensor>& edits, const std::vector<EditOptions>& settings,
                 const std::string& target, int64_t show) {
  const int64_t k = std::min(show, originals.size(0));
  std::vector<torch::Tensor> rows = {originals.slice(0, 0, k)};
  std::vector<std::string> labels = {"original"};
  for (size_t s = 0; s < settings.size(); ++s) {
    rows.push_back(edits[s].slice(0, 0, k));
    labels.push_back(settings[s].describe());
  }
  LabeledRowsOptions lo;
  lo.title = fmt::format("edits to '{}' under every setting", target);
  write_png(path, labeled_rows(rows, labels, {}, lo));
}

// The scores of edits, by name, a value an edit (float64 [P]); the undefined ones left out.
std::vector<std::pair<std::string, torch::Tensor>> metrics_of(const EditScores& s) {
  std::vector<std::pair<std::string, torch::Tensor>> m = {{"mse", s.mse}, {"ssim", s.ssim}};
  if (s.feature_distance.defined()) {
    m.emplace_back("feature_distance", s.feature_distance);
    m.emplace_back("target_probability", s.target_probability);
    m.emplace_back("success_rate", s.success.to(torch::kFloat64));
  }
  if (s.truth_mse.defined()) {
    m.emplace_back("truth_mse", s.truth_mse);
    m.emplace_back("truth_ssim", s.truth_ssim);
    if (s.truth_feature_distance.defined())
      m.emplace_back("truth_feature_distance", s.truth_feature_distance);
  }
  return m;
}

// The settings that differ only in SDEdit's noise seed, their scores pooled: a pair's (image,
// target) score is its mean over the seeds; `mean` and `ci95` (the half-width of the 95%
// confidence interval of the mean, 1.96 standard errors) are over the pairs.
struct SettingGroup {
  EditOptions options;  // the first member's
  std::vector<size_t> members;
  int64_t pairs = 0;
  std::map<std::string, double> mean, ci95;
  double get(const std::string& metric) const { return mean.count(metric) ? mean.at(metric) : NAN; }
};

std::vector<SettingGroup> group_settings(const std::vector<EditOptions>& settings,
                                         const std::vector<EditScores>& scores) {
  std::vector<SettingGroup> groups;
  std::map<std::string, size_t> index;
  for (size_t s = 0; s < settings.size(); ++s) {
    auto key = settings[s].to_json();
    key.erase("seed");
    const auto [it, added] = index.emplace(key.dump(), groups.size());
    if (added) groups.push_back({settings[s], {}, 0, {}, {}});
    groups[it->second].members.push_back(s);
  }
  for (auto& g : groups) {
    const auto names = metrics_of(scores[g.members.front()]);
    for (size_t m = 0; m < names.size(); ++m) {
      std::vector<torch::Tensor> runs;
      for (size_t s : g.members) runs.push_back(metrics_of(scores[s])[m].second);
      const auto per_pair = torch::stack(runs).mean(0);
      g.pairs = per_pair.size(0);
      g.mean[names[m].first] = per_pair.mean().item<double>();
      g.ci95[names[m].first] =
          g.pairs > 1 ? 1.96 * per_pair.std().item<double>() / std::sqrt(static_cast<double>(g.pairs)) : 0.0;
    }
  }
  return groups;
}

// A method's curve or map: the settings of one method with the same choice of the
// categorical knobs (the inversion's condition, the injected noise, SDEdit's η).
std::string family_of(const EditOptions& o) {
  switch (o.method) {
    case EditMethod::DirectInversion:
      return fmt::format("direct-inversion-{}-{}", to_string(o.inversion_condition), to_string(o.merge_with));
    case EditMethod::Inversion:
      return fmt::format("inversion-{}", to_string(o.inversion_condition));
    case EditMethod::SDEdit:
      return fmt::format("sdedit-eta{:g}", o.eta);
  }
  return "?";
}

// The numeric knobs of a setting, by name (the charts' axes).
std::vector<std::pair<std::string, double>> knobs_of(const EditOptions& o) {
  return {{"inversion steps", static_cast<double>(o.inversion_steps)},
          {"inference steps", static_cast<double>(o.steps)},
          {"guidance w", o.guidance},
          {"merge lambda", o.merge},
          {"strength t0", o.strength}};
}

std::string slug(std::string name) {
  for (auto& c : name)
    if (c == ' ' || c == '_') c = '-';
  return name;
}

// How far each metric is from the original: the fidelity axes (SSIM up is faithful; MSE and
// the classifier-feature distance, our stand-in for the paper's LPIPS, down is).
const std::vector<std::pair<std::string, std::string>> kFidelity = {
    {"ssim", "mean SSIM (higher: faithful)"}, {"feature_distance", "feature distance (lower: faithful)"}};

// The fidelity-editability plane (the paper's Fig. 7), once a fidelity axis
// (tradeoff-ssim.png, tradeoff-feature-distance.png): a curve a family, through its settings.
void write_tradeoffs(const std::string& out, const std::vector<SettingGroup>& groups) {
  std::vector<std::string> families;
  for (const auto& g : groups)
    if (std::find(families.begin(), families.end(), family_of(g.options)) == families.end())
      families.push_back(family_of(g.options));
  for (const auto& [metric, label] : kFidelity) {
    std::vector<Series> series;
    for (const auto& f : families) {
      Series s;
      s.label = f;
      for (const auto& g : groups) {
        if (family_of(g.options) != f) continue;
        s.x.push_back(g.get("target_probability"));
        s.y.push_back(g.get(metric));
      }
      s.style = s.x.size() > 1 ? Series::Style::Line : Series::Style::Points;
      series.push_back(std::move(s));
    }
    PlotOptions p;
    p.title = metric == "ssim" ? "fidelity (SSIM to the original) vs editability"
                               : "fidelity (feature distance, an LPIPS stand-in) vs editability";
    p.xlabel = "editability: mean probability of the target class";
    p.ylabel = "fidelity: " + label;
    plot_xy(fmt::format("{}/tradeoff-{}.png", out, slug(metric)), series, p);
  }
}

// For each family whose settings vary exactly one knob, its scores over it
// (curve-FAMILY-over-KNOB.png; the paper's Figs. 6 and 7); exactly two, heat maps of the mean
// scores over both (heatmap-FAMILY-METRIC-by-KNOB-and-KNOB.png; Figs. 8 and 9: inversion x
// inference steps, merge x guidance).
void write_knob_charts(const std::string& out, const std::vector<SettingGroup>& groups) {
  std::vector<std::string> families;
  for (const auto& g : groups)
    if (std::find(families.begin(), families.end(), family_of(g.options)) == families.end())
      families.push_back(family_of(g.options));
  for (const auto& family : families) {
    std::vector<const SettingGroup*> of;
    for (const auto& g : groups)
      if (family_of(g.options) == family) of.push_back(&g);
    const auto names = knobs_of(of[0]->options);
    std::vector<size_t> varying;
    std::vector<std::vector<double>> values(names.size());
    for (size_t k = 0; k < names.size(); ++k) {
      for (const auto* g : of) values[k].push_back(knobs_of(g->options)[k].second);
      std::sort(values[k].begin(), values[k].end());
      values[k].erase(std::unique(values[k].begin(), values[k].end()), values[k].end());
      if (values[k].size() > 1) varying.push_back(k);
    }
    const bool classified = of[0]->mean.count("target_probability") > 0;
    std::vector<std::string> metrics = {"mse", "ssim"};
    if (classified) metrics.insert(metrics.end(), {"feature_distance", "target_probability", "success_rate"});
    if (varying.size() == 1) {
      const size_t k = varying[0];
      auto order = of;
      std::stable_sort(order.begin(), order.end(), [&](const SettingGroup* a, const SettingGroup* b) {
        return knobs_of(a->options)[k].second < knobs_of(b->options)[k].second;
      });
      std::vector<Series> series;
      for (const auto& metric : metrics) {
        Series s;
        s.label = metric;
        for (const auto* g : order) {
          s.x.push_back(knobs_of(g->options)[k].second);
          s.y.push_back(g->get(metric));
        }
        series.push_back(std::move(s));
      }
      PlotOptions p;
      p.title = fmt::format("{}: fidelity and editability over {}", family, names[k].first);
      p.xlabel = names[k].first;
      p.ylabel = "mean score";
      plot_xy(fmt::format("{}/curve-{}-over-{}.png", out, family, slug(names[k].first)), series, p);
      continue;
    }
    if (varying.size() != 2) continue;
    const size_t ky = varying[0], kx = varying[1];
    const auto& ys = values[ky];
    const auto& xs = values[kx];
    // Cells centred on evenly spaced values; otherwise on their ranks, the values in the label.
    auto extent = [](const std::vector<double>& v, const std::string& name, std::string& label) {
      const double d = v[1] - v[0];
      bool even = true;
      for (size_t i = 1; i < v.size(); ++i)
        even = even && std::abs(v[i] - v[i - 1] - d) < 1e-9 * std::max(1.0, d);
      label = even ? name : fmt::format("{} ({})", name, fmt::join(v, ", "));
      return even ? std::pair<double, double>{v.front() - d / 2, v.back() + d / 2}
                  : std::pair<double, double>{-0.5, static_cast<double>(v.size()) - 0.5};
    };
    PlotOptions p;
    const auto [x0, x1] = extent(xs, names[kx].first, p.xlabel);
    const auto [y0, y1] = extent(ys, names[ky].first, p.ylabel);
    for (const auto& metric : metrics) {
      if (metric == "success_rate") continue;
      auto map = torch::full({static_cast<int64_t>(ys.size()), static_cast<int64_t>(xs.size())}, NAN,
                             torch::kFloat64);
      for (const auto* g : of) {
        const auto k = knobs_of(g->options);
        const auto r = std::lower_bound(ys.begin(), ys.end(), k[ky].second) - ys.begin();
        const auto c = std::lower_bound(xs.begin(), xs.end(), k[kx].second) - xs.begin();
        map[r][c] = g->get(metric);
      }
      p.title = fmt::format("{}: mean {}", family, metric);
      plot_heatmap(fmt::format("{}/heatmap-{}-{}-by-{}-and-{}.png", out, family, slug(metric),
                               slug(names[ky].first), slug(names[kx].first)),
                   map, x0, x1, y0, y1, p);
    }
  }
}

// The knob columns of the CSV files: a knob the setting's method does not have (absent from
// EditOptions::to_json) is left empty.
const std::vector<std::string> kKnobColumns = {"method",
                                               "inversion_condition",
                                               "merge_with",
                                               "guidance",
                                               "merge",
                                               "inject_every",
                                               "inject_until",
                                               "strength",
                                               "eta",
                                               "steps",
                                               "inversion_steps",
                                               "inversion"};

std::string knob_cells(const nlohmann::ordered_json& knobs, const std::vector<std::string>& columns) {
  std::vector<std::string> cells;
  for (const auto& c : columns)
    cells.push_back(!knobs.contains(c)           ? ""
                    : knobs[c].is_string()       ? knobs[c].get<std::string>()
                    : knobs[c].is_number_float() ? fmt::format("{:g}", knobs[c].get<double>())
                                                 : knobs[c].dump());
  return fmt::format("{}", fmt::join(cells, ","));
}

// metrics.json (a summary and per-edit scores a setting), metrics.csv (a row an edit) and
// summary.csv (a row a setting, SDEdit's seeds pooled: means and 95% confidence intervals).
// `rows`: the scored pairs' rows in the [T * N] target-major edits.
void write_metrics(const EditArgs& a, const std::vector<EditOptions>& settings,
                   const std::vector<EditScores>& scores, const std::vector<SettingGroup>& groups,
                   const torch::Tensor& source, const torch::Tensor& target, const std::vector<int64_t>& rows,
                   int64_t n) {
  nlohmann::ordered_json j = {{"model", a.model},
                              {"classifier", a.classifier},
                              {"images", n},
                              {"targets", a.to},
                              {"excluded_same_class", a.exclude_same_class}};
  auto csv_columns = kKnobColumns;
  csv_columns.push_back("seed");
  std::string csv = fmt::format(
      "{},image,source,target,mse,ssim,feature_distance,target_probability,success,truth_mse,truth_ssim,"
      "truth_feature_distance\n",
      fmt::join(csv_columns, ","));
  for (size_t s = 0; s < settings.size(); ++s) {
    const auto& o = settings[s];
    auto e = o.to_json();
    e["mean"] = scores[s].summary();
    const auto knobs = knob_cells(e, csv_columns);
    for (size_t p = 0; p < rows.size(); ++p) {
      const int64_t i = rows[p];
      auto entry = scores[s].entry(static_cast<int64_t>(p));
      entry["image"] = i % n;
      entry["source"] = source[i % n].item<int64_t>();
      entry["target"] = target[i].item<int64_t>();
      e["per_image"].push_back(entry);
      auto field = [&](const char* key) { return entry.contains(key) ? entry[key].dump() : ""; };
      csv +=
          fmt::format("{},{},{},{},{:.6g},{:.6g},{},{},{},{},{},{}\n", knobs, i % n, entry["source"].dump(),
                      entry["target"].dump(), entry["mse"].get<double>(), entry["ssim"].get<double>(),
                      field("feature_distance"), field("target_probability"), field("success"),
                      field("truth_mse"), field("truth_ssim"), field("truth_feature_distance"));
    }
    j["settings"].push_back(e);
  }
  write_json(a.out + "/metrics.json", j);
  write_file_atomic(a.out + "/metrics.csv", csv);
  const std::vector<std::string> metrics = {
      "mse",          "ssim",      "feature_distance", "target_probability",
      "success_rate", "truth_mse", "truth_ssim",       "truth_feature_distance"};
  std::string summary = fmt::format("{},seeds,pairs", fmt::join(kKnobColumns, ","));
  for (const auto& m : metrics) summary += fmt::format(",{},{}_ci95", m, m);
  summary += "\n";
  for (const auto& g : groups) {
    summary +=
        fmt::format("{},{},{}", knob_cells(g.options.to_json(), kKnobColumns),
                    g.options.method == EditMethod::SDEdit ? std::to_string(g.members.size()) : "", g.pairs);
    for (const auto& m : metrics)
      summary += g.mean.count(m) ? fmt::format(",{:.6g},{:.6g}", g.mean.at(m), g.ci95.at(m)) : ",,";
    summary += "\n";
  }
  write_file_atomic(a.out + "/summary.csv", summary);
}

int run_edit(const EditArgs& a) {
  const auto device = init_runtime();
  SamplerArgs precision;
  precision.weights = a.weights;
  precision.bf16 = a.bf16;
  auto d = load_model(a.model, precision, device);
  const auto settings = settings_of(a);
  DDIM_CHECK_ARG(d.network().conditioning() == Conditioning::Class,
                 "{} is not class-conditional (train one with ddim train --class-conditional)", a.model);
  std::vector<int64_t> targets;
  for (const auto& t : a.to) targets.push_back(d.data().class_index(t, d.network().classes()));
  std::unique_ptr<LoadedClassifier> classifier;
  if (!a.classifier.empty()) classifier = std::make_unique<LoadedClassifier>(load_classifier(a.classifier));
  const auto in = load_inputs(a.inputs, d.data());
  const int64_t n = in.images.size(0), t = static_cast<int64_t>(targets.size());
  const auto source = source_labels(a, d, in, classifier.get());
  // Every image towards every target: [T * N] rows, target-major.
  const auto images = in.images.repeat({t, 1, 1, 1});
  const auto target = torch::tensor(targets).repeat_interleave(n);
  // The pairs scored: all, or those whose source class is known and not already the target.
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < t * n; ++i)
    if (!a.exclude_same_class || source[i % n].item<int64_t>() != target[i].item<int64_t>())
      rows.push_back(i);
  DDIM_CHECK_ARG(!rows.empty(), "--exclude-same-class leaves no pair to score: every image already is of {}",
                 fmt::join(a.to, ", "));
  Progress progress("edit", n * t * static_cast<int64_t>(settings.size()), "img");
  const auto edits = edit_images(d, images, d.class_condition(source.repeat({t})), d.class_condition(target),
                                 settings, a.batch, [&](int64_t done) { progress.update(done); });
  progress.finish();
  const auto originals = d.data().crop(images);
  const auto scored = torch::tensor(rows);
  const auto truth = true_edits(d, in, target);
  std::vector<EditScores> scores;
  for (const auto& e : edits) {
    scores.push_back(score_edits(originals.index_select(0, scored), e.index_select(0, scored),
                                 target.index_select(0, scored), classifier.get()));
    if (truth.defined())
      score_against_truth(scores.back(), e.index_select(0, scored), truth.index_select(0, scored),
                          classifier.get());
  }
  const auto groups = group_settings(settings, scores);
  open_run_dir(a.out);
  save_tensor(a.out + "/edits.pt",
              torch::stack(edits).view({static_cast<int64_t>(settings.size()), t, n, originals.size(1),
                                        originals.size(2), originals.size(3)}));
  write_metrics(a, settings, scores, groups, source, target, rows, n);
  write_grid(a.out + "/edits.png", originals.slice(0, 0, n), edits.front(), a.to, settings.front().describe(),
             a.show);
  if (truth.defined())
    write_grid(a.out + "/truth.png", originals.slice(0, 0, n), truth, a.to,
               "true edits: the data set's rendered counterfactuals", a.show);
  if (settings.size() > 1) {
    write_sweep(a.out + "/sweep.png", originals, edits, settings, a.to.front(), a.show);
    if (classifier) optional_chart([&] { write_tradeoffs(a.out, groups); });
    optional_chart([&] { write_knob_charts(a.out, groups); });
  }
  for (const auto& g : groups) {
    std::string line;
    for (const auto& [m, v] : g.mean) line += fmt::format(" {} {:.4g} ± {:.2g};", m, v, g.ci95.at(m));
    spdlog::info("{}{}:{}", g.options.describe(),
                 g.members.size() > 1 ? fmt::format(" ({} seeds)", g.members.size()) : "", line);
  }
  spdlog::info("wrote {}/edits.png, {}edits.pt, metrics.json, metrics.csv and summary.csv", a.out,
               truth.defined() ? "truth.png (the true edits), " : "");
  return 0;
}

void add_edit_options(CLI::App* sub, EditArgs& a) {
  auto& o = a.base;
  add_list_option(sub, "--method", a.methods,
                  "direct-inversion, inversion (no injection), sdedit; a list runs each")
      ->check(CLI::IsMember(name_table<EditMethod>().names()));
  add_list_option(sub, "--inversion-steps", a.inversion_steps,
                  "Steps of the inversion grid; a list sweeps it")
      ->check(kPositive);
  add_list_option(sub, "--steps", a.steps, "Inference steps; a list sweeps it")->check(kPositive);
  add_list_option(sub, "--guidance", a.guidance,
                  "Classifier-free guidance w towards the target; a list sweeps it")
      ->check(kNonNegative);
  add_list_option(sub, "--invert-under", a.invert_under,
                  "direct-inversion, inversion: the condition the inversion runs under, null (the "
                  "authors' empty prompt) or source (the image's class, see --from); a list runs each")
      ->check(CLI::IsMember(name_table<InversionCondition>().names()));
  add_list_option(sub, "--merge", a.merge, "direct-inversion: the noise merge λ in [0, 1]; a list sweeps it")
      ->check(CLI::Range(0.0, 1.0));
  add_list_option(
      sub, "--merge-with", a.merge_with,
      "direct-inversion: the injected noise merged with the guided eps, eps (each step's "
      "inverted eps, Fig. 4) or xT (the final inverted noise x~_T, section 3.2); a list runs each")
      ->check(CLI::IsMember(name_table<InjectedNoise>().names()));
  sub->add_option("--inject-every", o.inject_every, "direct-inversion: inject at every k-th step")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--inject-until", o.inject_until, "direct-inversion: inject while t > t_stop")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  add_enum_option(sub, "--inversion", o.inversion, "ddim or fixed-point inversion");
  sub->add_option("--iters", o.iterations, "Fixed-point iterations K per step")
      ->check(kPositive)
      ->capture_default_str();
  add_list_option(sub, "--strength", a.strength,
                  "sdedit: the time t0 in (0, 1] the image is noised to; a list sweeps it")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--eta", o.eta,
                  "sdedit: stochastic DDIM's eta (1: the stochastic reverse process of Meng et al.; 0: "
                  "deterministic)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--seeds", a.seeds,
                  "sdedit: noise seeds a setting (--seed, --seed + 1, ...); the summaries pool them")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--exclude-same-class", a.exclude_same_class,
                "Score only the pairs whose source class (--from) is known and not already the target");
}

}  // namespace

void setup_edit(CLI::App& app) {
  auto a = std::make_shared<EditArgs>();
  auto* sub = app.add_subcommand("edit",
                                 "Edit images towards a class: Direct Inversion, inversion + guidance, "
                                 "SDEdit (class-conditional models)");
  sub->footer(
      "\nThe Direct Inversion step (include/ddim/methods/editing.h): eps = (1 - λ) eps_guided + λ z at the\n"
      "injection steps, z each step's inverted eps (--merge-with eps) or the inverted seed x~_T (xT); the\n"
      "inversion runs under the null class unless --invert-under source. SDEdit runs stochastic DDIM\n"
      "(--eta) under --seeds noise seeds. Writes edits.png (originals, then a column per target),\n"
      "sweep.png (one row per setting), edits.pt [settings, targets, images, C, H, W], metrics.json,\n"
      "metrics.csv (a row an edit; a knob the method lacks is empty) and summary.csv (a row a setting,\n"
      "seeds pooled: means and 95% confidence intervals over the pairs): fidelity (MSE, SSIM, distance of\n"
      "unit classifier features, our LPIPS stand-in) and editability (the target's probability, success).\n"
      "Lists sweep every combination; with several settings also tradeoff-ssim.png and\n"
      "tradeoff-feature-distance.png (fidelity vs editability, a curve a method and choice of condition and\n"
      "injected noise) and, where such a family varies one knob, curve-FAMILY-over-KNOB.png, two,\n"
      "heatmap-FAMILY-METRIC-by-KNOB-and-KNOB.png.\n"
      "Example: ddim edit --model runs/cc/model.pt --classifier runs/cls/model.pt --limit 8 --to "
      "Sneaker,Bag");
  sub->add_option("--model", a->model, "Class-conditional denoiser (ddim train --class-conditional)")
      ->required();
  sub->add_option("--classifier", a->classifier, "Classifier (ddim train-classifier) that scores the edits");
  add_list_option(sub, "--to", a->to, "Target classes, names or indices")->required();
  sub->add_option("--from", a->from,
                  "Source class of the images (for --invert-under source, --exclude-same-class and "
                  "the scores): auto (the label, else the classifier's guess, else unknown), none "
                  "(unknown: the null class) or a class")
      ->capture_default_str();
  sub->add_option("--out", a->out, "Output directory")->capture_default_str();
  add_input_options(sub, a->inputs, 8);
  add_edit_options(sub, *a);
  sub->add_option("--batch", a->batch, "Images per batch")->check(kPositive)->capture_default_str();
  add_enum_option(sub, "--weights", a->weights, "ema or raw denoiser weights");
  add_bf16_flag(sub, a->bf16);
  sub->add_option("--show", a->show, "Images in the pictures")->check(kPositive)->capture_default_str();
  on_run(sub, [a] { return run_edit(*a); });
}

}  // namespace ddim::cli
