// `ddim analyze`: experiments that explain the seed space.
//   independence  the same seeds through two denoisers (seed paper Fig. 10)
//   inversion     noise, latent and sample statistics ("there and back again", section 4)
//   gravity       the gravitational map and embedding regions of a 2-D model (Fig. 9)
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "common.h"
#include "ddim/annotate.h"
#include "ddim/error.h"
#include "ddim/file.h"
#include "ddim/image.h"
#include "ddim/inversion_stats.h"
#include "ddim/metrics.h"
#include "ddim/pipeline.h"
#include "ddim/plot.h"
#include "ddim/rng.h"
#include "ddim/tensor_io.h"
#include "ddim/training.h"
#include "progress.h"
#include "sampling_args.h"

namespace ddim::cli {
namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

torch::Tensor seeds_for(const DataInfo& info, int64_t n, uint64_t seed) {
  auto gen = make_generator(seed);
  std::vector<int64_t> shape = {n};
  shape.insert(shape.end(), info.shape.begin(), info.shape.end());
  return randn(shape, gen);
}

// ------------------------------------------------------------------ independence
struct IndependenceArgs {
  std::vector<std::string> models;
  int64_t n = 256;
  int64_t show = 12;
  std::string out = "independence";
  SamplerArgs sampler;
};

int run_independence(const IndependenceArgs& a) {
  const auto device = init_runtime();
  DDIM_CHECK_ARG(a.models.size() == 2, "--model must be given twice (two denoisers), got {}",
                 a.models.size());
  auto da = load_model(a.models[0], a.sampler, device);
  auto db = load_model(a.models[1], a.sampler, device);
  DDIM_CHECK_ARG(da.data().shape == db.data().shape, "the two models work on different shapes ({} and {})",
                 fmt::join(da.data().shape, "x"), fmt::join(db.data().shape, "x"));
  open_run_dir(a.out);
  const auto seeds = seeds_for(da.data(), a.n, global_options().seed);
  SampleOptions plain;
  Progress progress("independence", 2 * a.n, "img");
  auto xa = crop_padding(
      generate(da, seeds, a.sampler.grid(da), plain, a.sampler.batch, [&](int64_t d) { progress.update(d); }),
      da.data());
  auto xb = crop_padding(generate(db, seeds, a.sampler.grid(db), plain, a.sampler.batch,
                                  [&](int64_t d) { progress.update(a.n + d); }),
                         db.data());
  progress.finish();
  // Same seed, two models; against different seeds, one model (the next sample).
  const auto same = mse_per_image(xa, xb);
  const auto random_pairs = mse_per_image(xa, xa.roll(1, 0));
  const double ratio = random_pairs.mean().item<double>() / std::max(same.mean().item<double>(), 1e-30);
  nlohmann::ordered_json j;
  j["models"] = a.models;
  j["n"] = a.n;
  j["steps"] = a.sampler.steps;
  j["same_seed_mse"] = same.mean().item<double>();
  j["random_pairs_mse"] = random_pairs.mean().item<double>();
  j["ratio"] = ratio;
  j["orders_of_magnitude"] = std::log10(ratio);
  write_json(a.out + "/independence.json", j.dump(2));
  if (da.data().is_image()) {
    const int64_t k = std::min(a.show, a.n);
    std::vector<std::string> caps;
    for (int64_t i = 0; i < k; ++i) caps.push_back(fmt::format("{:.4f}", same[i].item<double>()));
    LabeledRowsOptions lo;
    lo.title = fmt::format(
        "the same seeds through two denoisers: MSE {:.5f} vs {:.5f} between random samples (ratio {:.0f}, "
        "Fig. 10)",
        same.mean().item<double>(), random_pairs.mean().item<double>(), ratio);
    write_png(a.out + "/independence.png",
              labeled_rows({xa.slice(0, 0, k), xb.slice(0, 0, k)},
                           {std::filesystem::path(a.models[0]).parent_path().filename().string(),
                            std::filesystem::path(a.models[1]).parent_path().filename().string()},
                           {{}, caps}, lo));
  }
  spdlog::info(
      "same-seed MSE {:.6f}, random-pair MSE {:.6f}: ratio {:.1f} ({:.2f} orders of magnitude); wrote "
      "{}/independence.json",
      same.mean().item<double>(), random_pairs.mean().item<double>(), ratio, std::log10(ratio), a.out);
  return 0;
}

// ------------------------------------------------------------------ inversion statistics
struct InversionArgs {
  std::string model, checkpoints, out = "inversion-stats";
  int64_t n = 1000;
  std::string steps = "10,100";
  int64_t lambdas = 21;
  SamplerArgs sampler;
};

// Everything for one model and one S: generate, invert, measure.
nlohmann::ordered_json inversion_stats(const Denoiser& d, const torch::Tensor& noise, int64_t steps,
                                       int64_t batch, int64_t lambdas, torch::Tensor* distance_map) {
  const auto grid = make_time_grid(d.schedule(), steps);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> samples, latents;
  std::vector<std::vector<torch::Tensor>> trajectories;
  const auto eps = d.eps_fn();
  SampleOptions keep;
  keep.keep_trajectory = distance_map != nullptr;
  for (int64_t i = 0; i < noise.size(0); i += batch) {
    auto z = noise.slice(0, i, std::min(noise.size(0), i + batch)).to(d.device());
    auto r = ddim_sample(eps, z, grid, keep);
    samples.push_back(r.x.to(torch::kCPU));
    latents.push_back(ddim_invert(eps, r.x, grid).x.to(torch::kCPU));
    if (distance_map) {
      for (auto& s : r.trajectory) s = s.to(torch::kCPU);
      trajectories.push_back(r.trajectory);
    }
  }
  // Everything in the model's own (standardised) space.
  const auto x0 = torch::cat(samples), latent = torch::cat(latents);
  nlohmann::ordered_json j;
  j["steps"] = steps;
  j["top10_correlation"] = {{"noise", top_pixel_correlation(noise)},
                            {"latent", top_pixel_correlation(latent)},
                            {"sample", top_pixel_correlation(x0)}};
  const auto angles = triangle_angles(noise, latent, x0);
  j["angles_degrees"] = {{"noise", angles[0]}, {"latent", angles[1]}, {"sample", angles[2]}};
  const auto [s2n, n2s] = assignment_accuracy(noise, x0);
  j["assignment_accuracy"] = {{"sample_to_noise", s2n}, {"noise_to_sample", n2s}};
  j["noise_latent_mse"] = (noise - latent).square().mean().item<double>();
  j["noise_sample_distance"] = (noise - x0).flatten(1).norm(2, 1).mean().item<double>();
  if (distance_map) {
    std::vector<torch::Tensor> traj;
    for (size_t t = 0; t < trajectories[0].size(); ++t) {
      std::vector<torch::Tensor> parts;
      for (const auto& b : trajectories) parts.push_back(b[t]);
      traj.push_back(torch::cat(parts));
    }
    *distance_map =
        segment_distance_map(traj, noise, latent, torch::linspace(0, 1, lambdas, torch::kFloat64));
  }
  return j;
}

int run_inversion(const InversionArgs& a) {
  const auto device = init_runtime();
  const auto steps = parse_int_list(a.steps, "--steps");
  for (auto s : steps) DDIM_CHECK_ARG(s > 0, "--steps: every S must be positive, got {}", s);
  auto d = load_model(a.model, a.sampler, device);
  open_run_dir(a.out);
  const auto noise = seeds_for(d.data(), a.n, global_options().seed);
  nlohmann::ordered_json report;
  report["model"] = a.model;
  report["n"] = a.n;
  report["space"] = "standardised (the model's own)";
  Progress progress("inversion", static_cast<int64_t>(steps.size()), "S");
  std::string table =
      "| S | corr. noise | corr. latent | corr. sample | angle at noise | angle at latent | angle at sample "
      "| x0->xT | xT->x0 |\n|---|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < steps.size(); ++i) {
    torch::Tensor map;
    auto j = inversion_stats(d, noise, steps[i], a.sampler.batch, a.lambdas, &map);
    const auto& c = j["top10_correlation"];
    const auto& an = j["angles_degrees"];
    const auto& acc = j["assignment_accuracy"];
    table +=
        fmt::format("| {} | {:.3f} | {:.3f} | {:.3f} | {:.1f} | {:.1f} | {:.1f} | {:.1f}% | {:.1f}% |\n",
                    steps[i], c["noise"].get<double>(), c["latent"].get<double>(), c["sample"].get<double>(),
                    an["noise"].get<double>(), an["latent"].get<double>(), an["sample"].get<double>(),
                    100 * acc["sample_to_noise"].get<double>(), 100 * acc["noise_to_sample"].get<double>());
    j["distance_map"] = {{"rows", "trajectory step (x_T first)"},
                         {"columns", "lambda from 0 (x_T) to 1 (latent)"},
                         {"values", std::vector<std::vector<double>>()}};
    for (int64_t r = 0; r < map.size(0); ++r) j["distance_map"]["values"].push_back(to_vector(map[r]));
    PlotOptions p;
    p.title = fmt::format("|| (1-l) x_T + l x^_T - x_t ||, S = {} (there and back again, Fig. 3)", steps[i]);
    p.xlabel = "trajectory step t (0 = x_T)";
    p.ylabel = "lambda";
    optional_chart([&] {
      plot_heatmap(fmt::format("{}/distance-map-S{}.png", a.out, steps[i]), map.t(), 0,
                   static_cast<double>(map.size(0) - 1), 0, 1, p);
    });
    report["by_steps"].push_back(j);
    progress.update(static_cast<int64_t>(i + 1));
  }
  progress.finish();
  write_file_atomic(a.out + "/inversion.md", table);
  if (!a.checkpoints.empty()) {
    // The same over a run's checkpoints (its Fig. 4-5): each checkpoint samples and inverts.
    std::vector<std::pair<int64_t, std::string>> files;
    for (const auto& e : std::filesystem::directory_iterator(a.checkpoints + "/checkpoints")) {
      const auto name = e.path().filename().string();
      if (name.rfind("step-", 0) == 0 && e.path().extension() == ".pt")
        files.push_back({std::stoll(name.substr(5)), e.path().string()});
    }
    DDIM_CHECK(!files.empty(), "{}/checkpoints: no step-*.pt checkpoints (train with --keep large enough)",
               a.checkpoints);
    std::sort(files.begin(), files.end());
    const int64_t s = steps.front();
    std::vector<double> xs, s2n, n2s, ang_sample, ang_latent, nl_mse;
    Progress cp("checkpoints", static_cast<int64_t>(files.size()), "ckpt");
    for (size_t i = 0; i < files.size(); ++i) {
      auto dc = load_model(files[i].second, a.sampler, device);
      auto j = inversion_stats(dc, noise, s, a.sampler.batch, a.lambdas, nullptr);
      j["step"] = files[i].first;
      report["by_checkpoint"].push_back(j);
      xs.push_back(static_cast<double>(files[i].first));
      s2n.push_back(100 * j["assignment_accuracy"]["sample_to_noise"].get<double>());
      n2s.push_back(100 * j["assignment_accuracy"]["noise_to_sample"].get<double>());
      ang_sample.push_back(j["angles_degrees"]["sample"].get<double>());
      ang_latent.push_back(j["angles_degrees"]["latent"].get<double>());
      nl_mse.push_back(j["noise_latent_mse"].get<double>());
      cp.update(static_cast<int64_t>(i + 1));
    }
    cp.finish();
    auto series = [&](const std::string& label, const std::vector<double>& y) {
      return Series::line(label, torch::tensor(xs, torch::kFloat64), torch::tensor(y, torch::kFloat64));
    };
    PlotOptions p;
    p.xlabel = "training step";
    p.title = fmt::format("assignment accuracy over training, S = {} (Fig. 5)", s);
    p.ylabel = "accuracy (%)";
    optional_chart([&] {
      plot_xy(a.out + "/assignment-over-training.png", {series("x0 -> xT", s2n), series("xT -> x0", n2s)}, p);
    });
    p.title = fmt::format("triangle angles over training, S = {} (Fig. 4)", s);
    p.ylabel = "degrees";
    optional_chart([&] {
      plot_xy(a.out + "/angles-over-training.png",
              {series("at the sample", ang_sample), series("at the latent", ang_latent)}, p);
    });
  }
  write_json(a.out + "/inversion.json", report.dump(2));
  spdlog::info("wrote {}/inversion.json and inversion.md:\n{}", a.out, table);
  return 0;
}

// ------------------------------------------------------------------ gravity (2-D)
struct GravityArgs {
  std::string model, out = "gravity";
  int64_t grid = 64;
  double range = 3.0;
  int64_t points = 5;
  double radius = 0.1;
  int64_t arrows = 32;
  SamplerArgs sampler;
};

int run_gravity(const GravityArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  DDIM_CHECK_ARG(d.data().shape == std::vector<int64_t>{2},
                 "gravity maps need a model of 2-D points (e.g. ddim train --data toy:two-moons)");
  open_run_dir(a.out);
  // A G x G grid of seeds over [-range, range]^2 in the model's standardised space.
  auto axis = torch::linspace(-a.range, a.range, a.grid);
  auto mesh = torch::meshgrid({axis, axis}, "xy");
  auto seeds = torch::stack({mesh[0].flatten(), mesh[1].flatten()}, 1);
  SampleOptions plain;
  const auto grid = a.sampler.grid(d);
  torch::Tensor ends;
  {
    torch::NoGradGuard ng;
    ends = ddim_sample(d.eps_fn(), seeds.to(device), grid, plain).x.to(torch::kCPU);
  }
  // The data in the same space.
  DataArgs data;
  data.spec = d.data().spec;
  data.toy_size = 2000;
  const auto points = d.standardize(data.load().all());
  Series background = Series::points("data", points.select(1, 0), points.select(1, 1));
  // Fig. 9 (a, c): arrows from a coarser sub-grid of seeds to what they generate.
  const int64_t stride = std::max<int64_t>(1, a.grid / a.arrows);
  std::vector<int64_t> keep;
  for (int64_t r = 0; r < a.grid; r += stride)
    for (int64_t c = 0; c < a.grid; c += stride) keep.push_back(r * a.grid + c);
  auto idx = torch::tensor(keep);
  PlotOptions p;
  p.title = fmt::format("gravitational map: seeds -> generated points, S = {} (seed paper Fig. 9)",
                        a.sampler.steps);
  p.equal_axes = true;
  optional_chart([&] {
    plot_arrows(a.out + "/gravity.png", seeds.index_select(0, idx), ends.index_select(0, idx), background, p);
  });
  // Fig. 9 (b, d): emb(x) of a few data points: the grid seeds that land within `radius`.
  std::vector<Series> regions = {Series::points("data", points.select(1, 0), points.select(1, 1))};
  nlohmann::ordered_json j;
  j["model"] = a.model;
  j["space"] = "standardised (the model's own)";
  j["grid"] = a.grid;
  j["range"] = a.range;
  j["radius"] = a.radius;
  j["steps"] = a.sampler.steps;
  j["seeds"] = to_vector(seeds);
  j["generated"] = to_vector(ends);
  std::vector<torch::Tensor> chosen;
  for (int64_t k = 0; k < a.points; ++k) {
    const auto x = points[k * points.size(0) / a.points];
    chosen.push_back(x);
    auto inside = ((ends - x).norm(2, 1) < a.radius).nonzero().squeeze(1);
    auto region = seeds.index_select(0, inside);
    regions.push_back(Series::points(fmt::format("emb(x{})", k), region.select(1, 0), region.select(1, 1)));
    j["embeddings"].push_back(
        {{"point", to_vector(x)},
         {"seeds", region.size(0)},
         {"fraction_of_grid", static_cast<double>(region.size(0)) / static_cast<double>(seeds.size(0))},
         {"centroid", region.size(0) ? to_vector(region.mean(0)) : std::vector<double>{}}});
  }
  const auto xs = torch::stack(chosen);
  regions.push_back(Series::points("the points x", xs.select(1, 0), xs.select(1, 1)));
  p.title = fmt::format("embedding regions: grid seeds generating within {} of a point (Fig. 9)", a.radius);
  p.limits = {-a.range, a.range, -a.range, a.range};
  optional_chart([&] { plot_xy(a.out + "/embeddings.png", regions, p); });
  write_json(a.out + "/gravity.json", j.dump());
  spdlog::info("wrote {}/gravity.png, embeddings.png and gravity.json", a.out);
  return 0;
}

}  // namespace

void setup_analyze(CLI::App& app) {
  auto* analyze = app.add_subcommand(
      "analyze", "Experiments on the seed space: model independence, inversion statistics, 2-D maps");
  analyze->require_subcommand(1);

  auto ind = std::make_shared<IndependenceArgs>();
  auto* i =
      analyze->add_subcommand("independence", "The same seeds through two denoisers (seed paper Fig. 10)");
  i->add_option("--model", ind->models, "A denoiser; give --model twice")->required()->expected(2);
  i->add_option("--n", ind->n, "Seeds")->check(kPositive)->capture_default_str();
  i->add_option("--show", ind->show, "Seeds in the picture")->check(kPositive)->capture_default_str();
  i->add_option("--out", ind->out, "Output directory")->capture_default_str();
  add_sampler_options(i, ind->sampler, false);
  on_run(i, [ind] { return run_independence(*ind); });

  auto inv = std::make_shared<InversionArgs>();
  auto* v = analyze->add_subcommand(
      "inversion", "Noise, latent and sample statistics of DDIM inversion (there and back again)");
  v->footer(
      "\nReports the top-10 pixel correlations (its Table 1), the triangle angles (Fig. 2), the\n"
      "distance map between the trajectory and the noise-latent segment (Fig. 3), and the L2\n"
      "assignment accuracies (Table 2); with --checkpoints RUN the same over training (Fig. 4-5).");
  v->add_option("--model", inv->model, "Denoiser checkpoint")->required();
  v->add_option("--n", inv->n, "Noises")->check(CLI::Range(3, 1000000))->capture_default_str();
  v->add_option("--steps", inv->steps, "DDIM steps S, a list (e.g. 10,100,1000)")->capture_default_str();
  v->add_option("--checkpoints", inv->checkpoints,
                "Run directory whose checkpoints/ to follow over training");
  v->add_option("--lambdas", inv->lambdas, "Points on the noise-latent segment")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  v->add_option("--out", inv->out, "Output directory")->capture_default_str();
  v->add_option("--batch", inv->sampler.batch, "Images per batch")->check(kPositive)->capture_default_str();
  add_bf16_flag(v, inv->sampler.bf16);
  on_run(v, [inv] { return run_inversion(*inv); });

  auto g = std::make_shared<GravityArgs>();
  auto* gr = analyze->add_subcommand(
      "gravity", "Gravitational map and embedding regions of a 2-D model (seed paper Fig. 9)");
  gr->add_option("--model", g->model, "Denoiser of 2-D points")->required();
  gr->add_option("--grid", g->grid, "Grid seeds per side")->check(CLI::Range(2, 2048))->capture_default_str();
  gr->add_option("--range", g->range, "The grid covers [-range, range]^2 (standardised units)")
      ->check(kPositive)
      ->capture_default_str();
  gr->add_option("--points", g->points, "Data points whose embedding regions to draw")
      ->check(kPositive)
      ->capture_default_str();
  gr->add_option("--radius", g->radius, "A seed is in emb(x) when it generates within this distance of x")
      ->check(kPositive)
      ->capture_default_str();
  gr->add_option("--arrows", g->arrows, "Arrows per side in the map")
      ->check(kPositive)
      ->capture_default_str();
  gr->add_option("--out", g->out, "Output directory")->capture_default_str();
  add_sampler_options(gr, g->sampler, false);
  on_run(gr, [g] { return run_gravity(*g); });
}

}  // namespace ddim::cli
