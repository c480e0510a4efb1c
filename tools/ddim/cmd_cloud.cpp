// `ddim cloud`: the shape of emb(x) from a cloud of seeds (seed paper section 5.1):
// pairwise distances, the mean seed and progressive averaging (Fig. 13), random convex
// combinations (Fig. 12), and PCA with moves along the components (Fig. 14).
#include <filesystem>

#include "commands.h"
#include "common.h"
#include "ddim/annotate.h"
#include "ddim/cloud.h"
#include "ddim/error.h"
#include "ddim/file.h"
#include "ddim/image.h"
#include "ddim/metrics.h"
#include "ddim/pipeline.h"
#include "ddim/plot.h"
#include "ddim/rng.h"
#include "ddim/tensor_io.h"
#include "inputs.h"
#include "progress.h"
#include "sampling_args.h"

namespace ddim::cli {
namespace {

struct CloudArgs {
  std::string model, cloud, targets, out = "cloud";
  int64_t combinations = 100;
  int64_t columns = 8;
  int64_t components = 2;
  std::string factors = "-20,-10,-5,0,5,10,20";
  SamplerArgs sampler;
};

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

int run_cloud(const CloudArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  const auto& info = d.data();
  DDIM_CHECK_ARG(info.is_image(), "cloud analysis draws images; this model works on points");
  auto seeds = load_tensor(a.cloud, TensorRules::finite_floats());
  DDIM_CHECK_ARG(seeds.dim() == static_cast<int64_t>(info.shape.size()) + 2 && seeds.size(1) >= 2,
                 "{}: a cloud file is [images, K, {}] with K >= 2 (ddim synthesize writes one), got {}",
                 a.cloud, fmt::join(info.shape, ", "), fmt::join(seeds.sizes(), "x"));
  const auto targets_path =
      a.targets.empty() ? (std::filesystem::path(a.cloud).parent_path() / "targets.pt").string() : a.targets;
  auto targets = load_tensor(targets_path, TensorRules::finite_floats());
  DDIM_CHECK_ARG(targets.size(0) == seeds.size(0), "{} holds {} targets for {} clouds", targets_path,
                 targets.size(0), seeds.size(0));
  std::vector<double> factors;
  for (auto f : parse_int_list(a.factors, "--factors")) factors.push_back(static_cast<double>(f));
  open_run_dir(a.out);
  const int64_t images = seeds.size(0), k = seeds.size(1);
  const auto grid = a.sampler.grid(d);
  const SampleOptions plain;
  auto gen = make_generator(global_options().seed);
  auto render = [&](const torch::Tensor& z) {
    return crop_padding(generate(d, z, grid, plain, a.sampler.batch), info);
  };
  nlohmann::ordered_json report;
  report["model"] = a.model;
  report["cloud"] = a.cloud;
  report["seeds_per_image"] = k;
  report["dimensions"] = seeds[0][0].numel();
  std::vector<Series> spectra;
  Progress progress("cloud", images, "cloud");
  for (int64_t i = 0; i < images; ++i) {
    const auto cloud = seeds[i];
    const auto target = crop_padding(targets.slice(0, i, i + 1), info);
    auto mse_to_target = [&](const torch::Tensor& imgs) {
      return mse_per_image(imgs, target.expand_as(imgs));
    };
    nlohmann::ordered_json j;
    j["pairwise_distance"] = mean_pairwise_distance(cloud);
    j["pairwise_distance_per_pixel"] = mean_pairwise_distance_per_pixel(cloud);
    j["seed_norm_per_pixel"] =
        (cloud.flatten(1).norm(2, 1) / std::sqrt(double(cloud[0].numel()))).mean().item<double>();
    // Each seed alone.
    const auto single = mse_to_target(render(cloud));
    j["seed_mse"] = {{"mean", single.mean().item<double>()},
                     {"min", single.min().item<double>()},
                     {"max", single.max().item<double>()}};
    // Progressive averaging (Fig. 13).
    const auto means = progressive_means(cloud);
    const auto mean_images = render(means);
    const auto progressive = mse_to_target(mean_images);
    j["mean_seed_mse"] = progressive[k - 1].item<double>();
    j["progressive_mse"] = to_vector(progressive);
    // Random convex combinations (Fig. 12).
    const auto internal = random_convex_combinations(cloud, a.combinations, gen);
    const auto internal_images = render(internal);
    const auto convex = mse_to_target(internal_images);
    j["convex_mse"] = {{"mean", convex.mean().item<double>()}, {"max", convex.max().item<double>()}};
    // PCA (Fig. 14).
    const auto pc = principal_components(cloud);
    j["eigenvalues"] = to_vector(pc.eigenvalues);
    spectra.push_back(Series::line(fmt::format("image {}", i), torch::arange(1, pc.eigenvalues.size(0) + 1),
                                   pc.eigenvalues));
    report["images"].push_back(j);

    const std::string prefix = fmt::format("{}/image{:03d}", a.out, i);
    // Fig. 13 strip: progressive means at up to `columns` counts from 1 to K.
    std::vector<int64_t> picks;
    const int64_t cols = std::min(a.columns, k);
    for (int64_t c = 0; c < cols; ++c) picks.push_back(cols == 1 ? k - 1 : c * (k - 1) / (cols - 1));
    auto idx = torch::tensor(picks);
    std::vector<std::string> counts, errs;
    for (auto p : picks) {
      counts.push_back(fmt::format("{} seeds", p + 1));
      errs.push_back(fmt::format("{:.4f}", progressive[p].item<double>()));
    }
    LabeledRowsOptions lo;
    lo.title =
        fmt::format("image {}: averages of 1 ... {} seeds and their images, MSE above (Fig. 13)", i, k);
    write_png(prefix + "-averaging.png",
              labeled_rows({seed_to_image(crop_padding(means.index_select(0, idx), info)),
                            mean_images.index_select(0, idx)},
                           {"mean seed", "its image"}, {counts, errs}, lo));
    // Fig. 12: the target, then the images of the internal points, ten a row.
    std::vector<torch::Tensor> combo_rows = {target};
    std::vector<std::string> combo_labels = {"target"};
    for (int64_t c = 0; c < internal_images.size(0); c += 10) {
      combo_rows.push_back(internal_images.slice(0, c, std::min(internal_images.size(0), c + 10)));
      combo_labels.push_back(c == 0 ? "internal points" : "");
    }
    lo.title = fmt::format(
        "image {}: images of {} random convex combinations of its seeds; mean MSE {:.4f} (Fig. 12)", i,
        a.combinations, convex.mean().item<double>());
    write_png(prefix + "-combinations.png", labeled_rows(combo_rows, combo_labels, {}, lo));
    // Fig. 14: from the mean seed along the most and the least significant components.
    std::vector<torch::Tensor> rows;
    std::vector<std::string> labels;
    std::vector<std::vector<std::string>> caps;
    const int64_t r = pc.eigenvalues.size(0);
    std::vector<int64_t> comps;
    for (int64_t c = 0; c < std::min(a.components, r); ++c) comps.push_back(c);
    for (int64_t c = std::max(std::min(a.components, r), r - a.components); c < r; ++c) comps.push_back(c);
    const auto mean_seed = pc.mean.to(torch::kFloat32).view(cloud[0].sizes());
    const auto base = render(mean_seed.unsqueeze(0));
    for (auto c : comps) {
      std::vector<torch::Tensor> moved;
      for (double f : factors)
        moved.push_back(mean_seed + f * pc.components[c].to(torch::kFloat32).view(cloud[0].sizes()));
      auto imgs = render(torch::stack(moved));
      auto change = mse_per_image(imgs, base.expand_as(imgs));
      rows.push_back(imgs);
      labels.push_back(fmt::format("PC {} (ev {:.2g})", c + 1, pc.eigenvalues[c].item<double>()));
      std::vector<std::string> cap;
      for (size_t fi = 0; fi < factors.size(); ++fi)
        cap.push_back(fmt::format("{:+g}: {:.3f}", factors[fi], change[fi].item<double>()));
      caps.push_back(cap);
    }
    lo.title = fmt::format(
        "image {}: mean seed moved along principal components by the factor; MSE to its image (Fig. 14)", i);
    write_png(prefix + "-components.png", labeled_rows(rows, labels, caps, lo));
    progress.update(i + 1);
  }
  progress.finish();
  // Summary over images.
  auto mean_of = [&](const std::string& key) {
    double s = 0;
    for (const auto& j : report["images"]) s += j[key].get<double>();
    return s / static_cast<double>(images);
  };
  report["summary"] = {{"pairwise_distance_per_pixel", mean_of("pairwise_distance_per_pixel")},
                       {"mean_seed_mse", mean_of("mean_seed_mse")}};
  write_json(a.out + "/cloud.json", report.dump(2));
  // Eigenvalue spectra: CSV and a chart.
  std::string csv = "image,component,eigenvalue\n";
  for (int64_t i = 0; i < images; ++i) {
    const auto& ev = report["images"][i]["eigenvalues"];
    for (size_t c = 0; c < ev.size(); ++c)
      csv += fmt::format("{},{},{:.8g}\n", i, c + 1, ev[c].get<double>());
  }
  write_file_atomic(a.out + "/eigenvalues.csv", csv);
  PlotOptions p;
  p.title = fmt::format("PCA of the seed clouds ({} seeds each)", k);
  p.xlabel = "component";
  p.ylabel = "eigenvalue";
  p.log_y = true;
  p.legend = images <= 8;
  optional_chart([&] { plot_xy(a.out + "/eigenvalues.png", spectra, p); });
  spdlog::info(
      "pairwise distance per pixel {:.3f}, mean-seed MSE {:.5f} (means over {} clouds); wrote {}/cloud.json",
      report["summary"]["pairwise_distance_per_pixel"].get<double>(),
      report["summary"]["mean_seed_mse"].get<double>(), images, a.out);
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
  sub->add_option("--combinations", a->combinations, "Random internal points per cloud")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--columns", a->columns, "Columns of the averaging strip")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--components", a->components, "Most and least significant components to move along")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--factors", a->factors, "Steps along a unit eigenvector")->capture_default_str();
  add_sampler_options(sub, a->sampler, /*sampling=*/false);
  on_run(sub, [a] { return run_cloud(*a); });
}

}  // namespace ddim::cli
