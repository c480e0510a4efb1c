// `ddim cloud`: the shape of emb(x) from a cloud of seeds (seed paper section 5.1):
// pairwise distances, the mean seed and progressive averaging (Fig. 13), random convex
// combinations (Fig. 12), and PCA with moves along the components (Fig. 14).
#include <filesystem>

#include "commands.h"
#include "common/common.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "ddim/analysis/cloud.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/rng.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"
#include "ddim/pictures/plot.h"

namespace ddim::cli {
namespace {

struct CloudArgs {
  std::string model, cloud, targets, out = "cloud";
  int64_t columns = 8;
  CloudAnalysisOptions analysis;
  SamplerArgs sampler;
};

// Fig. 13, 12 and 14 of one cloud: image<i>-averaging.png, -combinations.png, -components.png.
void write_figures(const std::string& prefix, int64_t i, const CloudAnalysis& c, const torch::Tensor& target,
                   const DataInfo& info, const CloudArgs& a) {
  const int64_t k = c.progressive_means.size(0), cols = std::min(a.columns, k);
  std::vector<int64_t> picks;  // progressive means at up to `columns` counts from 1 to K
  for (int64_t col = 0; col < cols; ++col) picks.push_back(cols == 1 ? k - 1 : col * (k - 1) / (cols - 1));
  std::vector<std::string> counts, errs;
  for (auto p : picks) {
    counts.push_back(fmt::format("{} seeds", p + 1));
    errs.push_back(fmt::format("{:.4f}", c.progressive_mse[p].item<double>()));
  }
  const auto idx = torch::tensor(picks);
  LabeledRowsOptions lo;
  lo.title = fmt::format("image {}: averages of 1 ... {} seeds and their images, MSE above (Fig. 13)", i, k);
  write_png(prefix + "-averaging.png",
            labeled_rows({seed_to_image(info.crop(c.progressive_means.index_select(0, idx))),
                          c.progressive_images.index_select(0, idx)},
                         {"mean seed", "its image"}, {counts, errs}, lo));
  // The target, then the images of the internal points, ten a row.
  std::vector<torch::Tensor> rows = {target};
  std::vector<std::string> labels = {"target"};
  for (int64_t r = 0; r < c.internal_images.size(0); r += 10) {
    rows.push_back(c.internal_images.slice(0, r, std::min(c.internal_images.size(0), r + 10)));
    labels.push_back(r == 0 ? "internal points" : "");
  }
  lo.title =
      fmt::format("image {}: images of {} random convex combinations of its seeds; mean MSE {:.4f} (Fig. 12)",
                  i, c.internal_images.size(0), c.convex_mse.mean().item<double>());
  write_png(prefix + "-combinations.png", labeled_rows(rows, labels, {}, lo));
  // From the mean seed along the most and the least significant components.
  std::vector<std::string> pc_labels;
  std::vector<std::vector<std::string>> caps;
  for (size_t m = 0; m < c.moved_components.size(); ++m) {
    const auto comp = c.moved_components[m];
    pc_labels.push_back(fmt::format("PC {} (ev {:.2g})", comp + 1, c.pca.eigenvalues[comp].item<double>()));
    caps.emplace_back();
    for (size_t f = 0; f < a.analysis.factors.size(); ++f)
      caps.back().push_back(
          fmt::format("{:+g}: {:.3f}", a.analysis.factors[f], c.moved_change[m][f].item<double>()));
  }
  lo.title = fmt::format(
      "image {}: mean seed moved along principal components by the factor; MSE to its image (Fig. 14)", i);
  write_png(prefix + "-components.png", labeled_rows(c.moved_images, pc_labels, caps, lo));
}

// Eigenvalue spectra of every cloud: CSV and a chart.
void write_spectra(const std::string& out, const std::vector<torch::Tensor>& eigenvalues, int64_t k) {
  std::string csv = "image,component,eigenvalue\n";
  std::vector<Series> spectra;
  for (size_t i = 0; i < eigenvalues.size(); ++i) {
    const auto ev = to_vector(eigenvalues[i]);
    for (size_t c = 0; c < ev.size(); ++c) csv += fmt::format("{},{},{:.8g}\n", i, c + 1, ev[c]);
    spectra.push_back(Series::line(fmt::format("image {}", i), torch::arange(1, eigenvalues[i].size(0) + 1),
                                   eigenvalues[i]));
  }
  write_file_atomic(out + "/eigenvalues.csv", csv);
  PlotOptions p;
  p.title = fmt::format("PCA of the seed clouds ({} seeds each)", k);
  p.xlabel = "component";
  p.ylabel = "eigenvalue";
  p.log_y = true;
  p.legend = eigenvalues.size() <= 8;
  optional_chart([&] { plot_xy(out + "/eigenvalues.png", spectra, p); });
}

int run_cloud(CloudArgs a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  const auto& info = d.data();
  DDIM_CHECK_ARG(info.is_image(), "cloud analysis draws images; this model works on points");
  const auto seeds = load_tensor(a.cloud, TensorRules::finite_floats());
  DDIM_CHECK_ARG(seeds.dim() == static_cast<int64_t>(info.shape.size()) + 2 && seeds.size(1) >= 2,
                 "{}: a cloud file is [images, K, {}] with K >= 2 (ddim synthesize writes one), got {}",
                 a.cloud, fmt::join(info.shape, ", "), fmt::join(seeds.sizes(), "x"));
  const auto targets_path =
      a.targets.empty() ? (std::filesystem::path(a.cloud).parent_path() / "targets.pt").string() : a.targets;
  const auto targets = load_tensor(targets_path, TensorRules::finite_floats());
  DDIM_CHECK_ARG(targets.dim() == seeds.dim() - 1 && targets.size(0) == seeds.size(0),
                 "{} holds {} targets for {} clouds", targets_path, targets.size(0), seeds.size(0));
  open_run_dir(a.out);
  a.analysis.steps = a.sampler.steps;
  a.analysis.end = a.sampler.end;
  a.analysis.batch = a.sampler.batch;
  auto gen = make_generator(global_options().seed);
  nlohmann::ordered_json report = {{"model", a.model},
                                   {"cloud", a.cloud},
                                   {"seeds_per_image", seeds.size(1)},
                                   {"dimensions", seeds[0][0].numel()}};
  std::vector<torch::Tensor> eigenvalues;
  double distance_sum = 0, mean_mse_sum = 0;
  Progress progress("cloud", seeds.size(0), "cloud");
  for (int64_t i = 0; i < seeds.size(0); ++i) {
    const auto target = info.crop(targets.slice(0, i, i + 1));
    const auto c = analyze_cloud(d, seeds[i], target, a.analysis, gen);
    report["images"].push_back(c.to_json());
    eigenvalues.push_back(c.pca.eigenvalues);
    distance_sum += c.pairwise_distance_per_pixel;
    mean_mse_sum += c.progressive_mse[-1].item<double>();
    write_figures(fmt::format("{}/image{:03d}", a.out, i), i, c, target, info, a);
    progress.update(i + 1);
  }
  progress.finish();
  const auto n = static_cast<double>(seeds.size(0));
  report["summary"] = {{"pairwise_distance_per_pixel", distance_sum / n},
                       {"mean_seed_mse", mean_mse_sum / n}};
  write_json(a.out + "/cloud.json", report);
  write_spectra(a.out, eigenvalues, seeds.size(1));
  spdlog::info(
      "pairwise distance per pixel {:.3f}, mean-seed MSE {:.5f} (means over {} clouds); wrote {}/cloud.json",
      distance_sum / n, mean_mse_sum / n, seeds.size(0), a.out);
  return 0;
}

}  // namespace

void setup_cloud(CLI::App& app) {
  auto a = std::make_shared<CloudArgs>();
  auto* sub = app.add_subcommand(
      "cloud", "Analyse clouds of seeds of the same image: distances, averages, convex combinations, PCA");
  sub->footer(
      "\nWrites cloud.json, eigenvalues.csv/png, and per image: -averaging.png (Fig. 13),\n"
      "-combinations.png (Fig. 12) and -components.png (Fig. 14).");
  sub->add_option("--model", a->model, "Denoiser checkpoint")->required();
  sub->add_option("--cloud", a->cloud, "Seeds [images, K, C, H, W] (ddim synthesize's seeds.pt)")->required();
  sub->add_option("--targets", a->targets, "Target images (default: targets.pt beside the cloud)");
  sub->add_option("--out", a->out, "Output directory")->capture_default_str();
  auto& o = a->analysis;
  sub->add_option("--combinations", o.combinations, "Random internal points per cloud")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--columns", a->columns, "Columns of the averaging strip")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--components", o.components, "Most and least significant components to move along")
      ->check(kPositive)
      ->capture_default_str();
  add_list_option(sub, "--factors", o.factors, "Steps along a unit eigenvector");
  add_sampler_options(sub, a->sampler, /*sampling=*/false);
  on_run(sub, [a] { return run_cloud(*a); });
}

}  // namespace ddim::cli
