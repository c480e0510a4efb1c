// `ddim edit`: edit real images towards classes with a class-conditional denoiser: Direct
// Inversion (Elarabawy et al. 2022) and its baselines, inversion + guided sampling and SDEdit,
// scored for fidelity and editability by ddim's own classifier.
#include "commands.h"
#include "common.h"
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
#include "inputs.h"
#include "progress.h"
#include "sampling_args.h"

namespace ddim::cli {
namespace {

struct EditArgs {
  std::string model, classifier, out = "edits", from = "auto";
  InputArgs inputs;
  std::vector<std::string> to;
  std::vector<std::string> methods = {"direct-inversion"};
  std::vector<double> guidance = {3.0}, merge = {0.5}, strength = {0.5};
  std::vector<int64_t> inversion_steps = {50}, steps = {50};
  EditOptions base;
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
    for (int64_t inv : inversion_steps)
      for (int64_t steps : a.steps)
        for (double w : a.guidance)
          for (double v : values) {
            auto o = a.base;
            o.method = method;
            o.inversion_steps = inv;
            o.steps = steps;
            o.guidance = w;
            o.seed = global_options().seed;
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
  // The inputs' class attribute when it has them, else the one attribute that has them.
  const Attribute* attribute = nullptr;
  int matches = 0;
  for (const auto& a : in.data->attributes) {
    if (a.values != classes) continue;
    ++matches;
    if (!attribute || a.name == in.data->label_attribute) attribute = &a;
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
  const auto truth = counterfactuals(*in.data, rows, attribute->name, values);
  std::vector<torch::Tensor> list;
  for (int64_t i = 0; i < truth.size(0); ++i)
    list.push_back(in.data->padding.crop(truth[i]).to(torch::kFloat32).div(255.0));
  return d.data().crop(conform_images(list, d.data()));
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

// The knobs of a setting, by name (the charts' axes).
std::vector<std::pair<std::string, double>> knobs_of(const EditOptions& o) {
  return {{"inversion steps", static_cast<double>(o.inversion_steps)},
          {"inference steps", static_cast<double>(o.steps)},
          {"guidance w", o.guidance},
          {"merge lambda", o.merge},
          {"strength t0", o.strength}};
}

// The fidelity-editability plane (the paper's Fig. 7): a curve a method, through its settings.
void write_tradeoff(const std::string& path, const std::vector<EditOptions>& settings,
                    const std::vector<EditScores>& scores) {
  std::vector<Series> series;
  for (const auto m : {EditMethod::DirectInversion, EditMethod::Inversion, EditMethod::SDEdit}) {
    Series s;
    s.label = to_string(m);
    for (size_t i = 0; i < settings.size(); ++i) {
      if (settings[i].method != m) continue;
      s.x.push_back(scores[i].target_probability.mean().item<double>());
      s.y.push_back(scores[i].ssim.mean().item<double>());
    }
    if (s.x.empty()) continue;
    s.style = s.x.size() > 1 ? Series::Style::Line : Series::Style::Points;
    series.push_back(std::move(s));
  }
  PlotOptions p;
  p.title = "fidelity vs editability (a point a setting)";
  p.xlabel = "editability: mean probability of the target class";
  p.ylabel = "fidelity: mean SSIM to the original";
  plot_xy(path, series, p);
}

// For each method whose settings vary exactly one knob, its scores over it (curve-METHOD.png);
// exactly two, heat maps of the mean scores over both (heatmap-METHOD-METRIC.png; Figs. 8 and
// 9: inversion x inference steps, merge x guidance).
void write_knob_charts(const std::string& out, const std::vector<EditOptions>& settings,
                       const std::vector<EditScores>& scores) {
  for (const auto m : {EditMethod::DirectInversion, EditMethod::Inversion, EditMethod::SDEdit}) {
    std::vector<size_t> of;
    for (size_t i = 0; i < settings.size(); ++i)
      if (settings[i].method == m) of.push_back(i);
    if (of.empty()) continue;
    const size_t knob_count = knobs_of(settings[of[0]]).size();
    std::vector<size_t> varying;
    std::vector<std::vector<double>> values(knob_count);
    for (size_t k = 0; k < knob_count; ++k) {
      for (size_t i : of) values[k].push_back(knobs_of(settings[i])[k].second);
      std::sort(values[k].begin(), values[k].end());
      values[k].erase(std::unique(values[k].begin(), values[k].end()), values[k].end());
      if (values[k].size() > 1) varying.push_back(k);
    }
    const auto names = knobs_of(settings[of[0]]);
    if (varying.size() == 1) {
      // One knob: the scores over it (the paper's Fig. 7 as curves).
      const size_t k = varying[0];
      std::vector<size_t> order = of;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return knobs_of(settings[a])[k].second < knobs_of(settings[b])[k].second;
      });
      std::vector<Series> series;
      for (const std::string metric : {"ssim", "target_probability", "success_rate"}) {
        if (metric != "ssim" && !scores[of[0]].target_probability.defined()) continue;
        Series s;
        s.label = metric == "ssim"                 ? "fidelity (SSIM)"
                  : metric == "target_probability" ? "target probability"
                                                   : "success rate";
        for (size_t i : order) {
          s.x.push_back(knobs_of(settings[i])[k].second);
          s.y.push_back(scores[i].summary()[metric].get<double>());
        }
        series.push_back(std::move(s));
      }
      PlotOptions p;
      p.title = fmt::format("{}: fidelity and editability over {}", to_string(m), names[k].first);
      p.xlabel = names[k].first;
      p.ylabel = "mean score";
      plot_xy(fmt::format("{}/curve-{}.png", out, to_string(m)), series, p);
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
    const bool classified = scores[of[0]].target_probability.defined();
    for (const std::string metric : {"mse", "ssim", "target_probability"}) {
      if (metric == "target_probability" && !classified) continue;
      auto map = torch::full({static_cast<int64_t>(ys.size()), static_cast<int64_t>(xs.size())}, NAN,
                             torch::kFloat64);
      for (size_t i : of) {
        const auto k = knobs_of(settings[i]);
        const auto r = std::lower_bound(ys.begin(), ys.end(), k[ky].second) - ys.begin();
        const auto c = std::lower_bound(xs.begin(), xs.end(), k[kx].second) - xs.begin();
        map[r][c] = scores[i].summary()[metric].get<double>();
      }
      p.title = fmt::format("{}: mean {}", to_string(m), metric);
      plot_heatmap(fmt::format("{}/heatmap-{}-{}.png", out, to_string(m), metric), map, x0, x1, y0, y1, p);
    }
  }
}

// metrics.json (a summary and per-image scores a setting) and metrics.csv (a row an edit).
void write_metrics(const EditArgs& a, const std::vector<EditOptions>& settings,
                   const std::vector<EditScores>& scores, const torch::Tensor& source,
                   const torch::Tensor& target, int64_t n) {
  nlohmann::ordered_json j = {
      {"model", a.model}, {"classifier", a.classifier}, {"images", n}, {"targets", a.to}};
  std::string csv =
      "method,guidance,merge,strength,steps,inversion_steps,image,source,target,mse,ssim,feature_distance,"
      "target_probability,success,truth_mse,truth_ssim,truth_feature_distance\n";
  for (size_t s = 0; s < settings.size(); ++s) {
    const auto& o = settings[s];
    auto e = o.to_json();
    e["mean"] = scores[s].summary();
    for (int64_t i = 0; i < target.size(0); ++i) {
      auto p = scores[s].entry(i);
      p["image"] = i % n;
      p["source"] = source[i % n].item<int64_t>();
      p["target"] = target[i].item<int64_t>();
      e["per_image"].push_back(p);
      csv +=
          fmt::format("{},{},{},{},{},{},{},{},{},{:.6g},{:.6g},{},{},{},{},{},{}\n", to_string(o.method),
                      o.guidance, o.merge, o.strength, o.steps, o.inversion_steps, i % n, p["source"].dump(),
                      p["target"].dump(), p["mse"].get<double>(), p["ssim"].get<double>(),
                      p.value("feature_distance", nlohmann::ordered_json()).dump(),
                      p.value("target_probability", nlohmann::ordered_json()).dump(),
                      p.value("success", nlohmann::ordered_json()).dump(),
                      p.value("truth_mse", nlohmann::ordered_json()).dump(),
                      p.value("truth_ssim", nlohmann::ordered_json()).dump(),
                      p.value("truth_feature_distance", nlohmann::ordered_json()).dump());
    }
    j["settings"].push_back(e);
  }
  write_json(a.out + "/metrics.json", j);
  write_file_atomic(a.out + "/metrics.csv", csv);
  // summary.csv: a row a setting, the means (what the study's tables and charts read).
  std::string summary =
      "method,inversion_steps,steps,guidance,merge,strength,mse,ssim,feature_distance,"
      "target_probability,success_rate,truth_mse,truth_ssim,truth_feature_distance\n";
  for (size_t s = 0; s < settings.size(); ++s) {
    const auto& o = settings[s];
    const auto m = scores[s].summary();
    auto field = [&](const char* key) {
      return m.contains(key) ? fmt::format("{:.6g}", m[key].get<double>()) : "";
    };
    // A knob the method does not have is left empty.
    const bool di = o.method == EditMethod::DirectInversion, sdedit = o.method == EditMethod::SDEdit;
    summary += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", to_string(o.method),
                           sdedit ? "" : std::to_string(o.inversion_steps), o.steps, o.guidance,
                           di ? fmt::format("{}", o.merge) : "", sdedit ? fmt::format("{}", o.strength) : "",
                           field("mse"), field("ssim"), field("feature_distance"),
                           field("target_probability"), field("success_rate"), field("truth_mse"),
                           field("truth_ssim"), field("truth_feature_distance"));
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
  Progress progress("edit", n * t * static_cast<int64_t>(settings.size()), "img");
  const auto edits = edit_images(d, images, d.class_condition(source.repeat({t})), d.class_condition(target),
                                 settings, a.batch, [&](int64_t done) { progress.update(done); });
  progress.finish();
  const auto originals = d.data().crop(images);
  std::vector<EditScores> scores;
  for (const auto& e : edits) scores.push_back(score_edits(originals, e, target, classifier.get()));
  const auto truth = true_edits(d, in, target);
  if (truth.defined())
    for (size_t s = 0; s < settings.size(); ++s)
      score_against_truth(scores[s], edits[s], truth, classifier.get());
  open_run_dir(a.out);
  save_tensor(a.out + "/edits.pt",
              torch::stack(edits).view({static_cast<int64_t>(settings.size()), t, n, originals.size(1),
                                        originals.size(2), originals.size(3)}));
  write_metrics(a, settings, scores, source, target, n);
  write_grid(a.out + "/edits.png", originals.slice(0, 0, n), edits.front(), a.to, settings.front().describe(),
             a.show);
  if (truth.defined())
    write_grid(a.out + "/truth.png", originals.slice(0, 0, n), truth, a.to,
               "true edits: the data set's rendered counterfactuals", a.show);
  if (settings.size() > 1) {
    write_sweep(a.out + "/sweep.png", originals, edits, settings, a.to.front(), a.show);
    if (classifier) optional_chart([&] { write_tradeoff(a.out + "/tradeoff.png", settings, scores); });
    optional_chart([&] { write_knob_charts(a.out, settings, scores); });
  }
  for (size_t s = 0; s < settings.size(); ++s)
    spdlog::info("{}: {}", settings[s].describe(), scores[s].summary().dump());
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
  add_list_option(sub, "--merge", a.merge, "direct-inversion: the noise merge λ in [0, 1]; a list sweeps it")
      ->check(CLI::Range(0.0, 1.0));
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
}

}  // namespace

void setup_edit(CLI::App& app) {
  auto a = std::make_shared<EditArgs>();
  auto* sub = app.add_subcommand("edit",
                                 "Edit images towards a class: Direct Inversion, inversion + guidance, "
                                 "SDEdit (class-conditional models)");
  sub->footer(
      "\nThe Direct Inversion step (include/ddim/methods/editing.h): eps = (1 - λ) eps_guided + λ "
      "eps_inverted at "
      "the\n"
      "injection steps. Writes edits.png (originals, then a column per target), sweep.png (one row per\n"
      "setting), edits.pt [settings, targets, images, C, H, W], metrics.json, metrics.csv (a row an edit) "
      "and\n"
      "summary.csv (a row a setting): fidelity (MSE, SSIM, distance of unit classifier features) and\n"
      "editability (the target's probability, success). Lists sweep every combination; with several\n"
      "settings also tradeoff.png (fidelity vs editability a method) and, where a method's settings vary\n"
      "one knob, curve-METHOD.png, two, heatmap-METHOD-METRIC.png.\n"
      "Example: ddim edit --model runs/cc/model.pt --classifier runs/cls/model.pt --limit 8 --to "
      "Sneaker,Bag");
  sub->add_option("--model", a->model, "Class-conditional denoiser (ddim train --class-conditional)")
      ->required();
  sub->add_option("--classifier", a->classifier, "Classifier (ddim train-classifier) that scores the edits");
  add_list_option(sub, "--to", a->to, "Target classes, names or indices")->required();
  sub->add_option("--from", a->from,
                  "Source class the inversion runs under: auto (the label, else the "
                  "classifier's guess, else none), none (the null class) or a class")
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
