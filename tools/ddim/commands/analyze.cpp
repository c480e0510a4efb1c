// `ddim analyze`: experiments that explain the seed space.
//   independence  the same seeds through two denoisers (seed paper Fig. 10)
//   inversion     noise, latent and sample statistics ("there and back again", section 4)
//   gravity       the gravitational map and embedding regions of a 2-D model (Fig. 9)
// (disentanglement, swap and reassembly, on partitioned codes, are in analyze_gae.cpp)
#include <cmath>
#include <filesystem>

#include "commands.h"
#include "common/common.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "ddim/analysis/gravity.h"
#include "ddim/analysis/independence.h"
#include "ddim/analysis/inversion_stats.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/image.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/plot.h"
#include "ddim/training/training.h"

namespace ddim::cli {
namespace {

torch::Tensor seeds_for(const DataInfo& info, int64_t n) {
  return random_seeds(info, n, global_options().seed);
}

// A model's name in pictures: its run directory for RUN/model.pt, otherwise the file's stem
// (models/fashion-mnist.pt -> fashion-mnist; two shipped models in models/ must not look alike).
std::string run_name(const std::string& model) {
  const std::filesystem::path p(model);
  return p.filename() == "model.pt" ? p.parent_path().filename().string() : p.stem().string();
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
  const auto da = load_model(a.models[0], a.sampler, device), db = load_model(a.models[1], a.sampler, device);
  DDIM_CHECK_ARG(da.data().shape == db.data().shape, "the two models work on different shapes ({} and {})",
                 fmt::join(da.data().shape, "x"), fmt::join(db.data().shape, "x"));
  open_run_dir(a.out);
  Progress progress("independence", 2 * a.n, "img");
  const auto r = model_independence(da, db, seeds_for(da.data(), a.n), a.sampler.steps, a.sampler.end,
                                    a.sampler.batch, [&](int64_t done) { progress.update(done); });
  progress.finish();
  auto j = r.to_json();
  j["models"] = a.models;
  j["steps"] = a.sampler.steps;
  write_json(a.out + "/independence.json", j);
  if (da.data().is_image()) {
    const int64_t k = std::min(a.show, a.n);
    std::vector<std::string> caps;
    for (int64_t i = 0; i < k; ++i) caps.push_back(fmt::format("{:.4f}", r.same_seed_mse[i].item<double>()));
    LabeledRowsOptions lo;
    lo.title = fmt::format(
        "the same seeds through two denoisers: MSE {:.5f} vs {:.5f} between random samples (ratio {:.0f}, "
        "Fig. 10)",
        j["same_seed_mse"].get<double>(), j["random_pairs_mse"].get<double>(), r.ratio());
    write_png(a.out + "/independence.png",
              labeled_rows({r.images_a.slice(0, 0, k), r.images_b.slice(0, 0, k)},
                           {run_name(a.models[0]), run_name(a.models[1])}, {{}, caps}, lo));
  }
  spdlog::info(
      "same-seed MSE {:.6f}, random-pair MSE {:.6f}: ratio {:.1f} ({:.2f} orders of magnitude); wrote "
      "{}/independence.json",
      j["same_seed_mse"].get<double>(), j["random_pairs_mse"].get<double>(), r.ratio(), std::log10(r.ratio()),
      a.out);
  return 0;
}

// ------------------------------------------------------------------ inversion statistics
struct InversionArgs {
  std::string model, checkpoints, out = "inversion-stats";
  int64_t n = 1000;
  std::vector<int64_t> steps = {10, 100};
  int64_t lambdas = 21;
  SamplerArgs sampler;
};

std::string table_row(const InversionStatistics& s) {
  return fmt::format("| {} | {:.3f} | {:.3f} | {:.3f} | {:.1f} | {:.1f} | {:.1f} | {:.1f}% | {:.1f}% |\n",
                     s.steps, s.correlation_noise, s.correlation_latent, s.correlation_sample, s.angles[0],
                     s.angles[1], s.angles[2], 100 * s.sample_to_noise, 100 * s.noise_to_sample);
}

void draw_distance_map(const std::string& out, const InversionStatistics& s) {
  const auto& map = s.distance_map;
  PlotOptions p;
  p.title = fmt::format("|| (1-l) x_T + l x^_T - x_t ||, S = {} (there and back again, Fig. 3)", s.steps);
  p.xlabel = "trajectory step t (0 = x_T)";
  p.ylabel = "lambda";
  optional_chart([&] {
    plot_heatmap(fmt::format("{}/distance-map-S{}.png", out, s.steps), map.t(), 0,
                 static_cast<double>(map.size(0) - 1), 0, 1, p);
  });
}

// The same over a run's checkpoints (its Fig. 4-5): each checkpoint samples and inverts.
nlohmann::ordered_json over_training(const InversionArgs& a, const torch::Tensor& noise,
                                     const torch::Device& device) {
  const auto files = run_checkpoints(a.checkpoints);
  DDIM_CHECK_ARG(!files.empty(), "{}/checkpoints: no step-*.pt checkpoints (train with --keep large enough)",
                 a.checkpoints);
  const int64_t s = a.steps.front();
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  std::vector<double> xs, s2n, n2s, ang_sample, ang_latent;
  Progress progress("checkpoints", static_cast<int64_t>(files.size()), "ckpt");
  for (const auto& [step, path] : files) {
    const auto st = inversion_statistics(load_model(path, a.sampler, device), noise, s, a.sampler.batch);
    auto j = st.to_json();
    j["step"] = step;
    out.push_back(j);
    xs.push_back(static_cast<double>(step));
    s2n.push_back(100 * st.sample_to_noise);
    n2s.push_back(100 * st.noise_to_sample);
    ang_sample.push_back(st.angles[2]);
    ang_latent.push_back(st.angles[1]);
    progress.update(static_cast<int64_t>(xs.size()));
  }
  progress.finish();
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
  return out;
}

int run_inversion(const InversionArgs& a) {
  const auto device = init_runtime();
  for (auto s : a.steps) DDIM_CHECK_ARG(s > 0, "--steps: every S must be positive, got {}", s);
  const auto d = load_model(a.model, a.sampler, device);
  if (!a.checkpoints.empty()) {
    // Every checkpoint is checked before the run directory exists (each is loaded again in turn).
    const auto files = run_checkpoints(a.checkpoints);
    DDIM_CHECK_ARG(!files.empty(),
                   "{}/checkpoints: no step-*.pt checkpoints (train with --keep large enough)",
                   a.checkpoints);
    for (const auto& [step, path] : files) load_model(path, a.sampler, torch::kCPU);
  }
  open_run_dir(a.out);
  const auto noise = seeds_for(d.data(), a.n);
  nlohmann::ordered_json report = {
      {"model", a.model}, {"n", a.n}, {"space", "standardised (the model's own)"}};
  Progress progress("inversion", static_cast<int64_t>(a.steps.size()), "S");
  std::string table =
      "| S | corr. noise | corr. latent | corr. sample | angle at noise | angle at latent | angle at sample "
      "| x0->xT | xT->x0 |\n|---|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < a.steps.size(); ++i) {
    const auto s = inversion_statistics(d, noise, a.steps[i], a.sampler.batch, a.lambdas);
    table += table_row(s);
    draw_distance_map(a.out, s);
    report["by_steps"].push_back(s.to_json());
    progress.update(static_cast<int64_t>(i + 1));
  }
  progress.finish();
  write_file_atomic(a.out + "/inversion.md", table);
  if (!a.checkpoints.empty()) report["by_checkpoint"] = over_training(a, noise, device);
  write_json(a.out + "/inversion.json", report);
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
  const auto d = load_model(a.model, a.sampler, device);
  const auto map = gravity_map(d, a.grid, a.range, a.sampler.grid(d));
  open_run_dir(a.out);
  // The data in the model's standardised space.
  DataSource data;
  data.spec = d.data().spec;
  data.options.toy_size = 2000;
  const auto points = d.standardize(seeded(data).load().all());
  const auto background = Series::points("data", points.select(1, 0), points.select(1, 1));
  // Fig. 9 (a, c): arrows from a coarser sub-grid of seeds to what they generate.
  const int64_t stride = std::max<int64_t>(1, a.grid / a.arrows);
  std::vector<int64_t> keep;
  for (int64_t r = 0; r < a.grid; r += stride)
    for (int64_t c = 0; c < a.grid; c += stride) keep.push_back(r * a.grid + c);
  const auto idx = torch::tensor(keep);
  PlotOptions p;
  p.title = fmt::format("gravitational map: seeds -> generated points, S = {} (seed paper Fig. 9)",
                        a.sampler.steps);
  p.equal_axes = true;
  optional_chart([&] {
    plot_arrows(a.out + "/gravity.png", map.seeds.index_select(0, idx), map.ends.index_select(0, idx),
                background, p);
  });
  // Fig. 9 (b, d): emb(x) of a few data points: the grid seeds that land within `radius`.
  std::vector<Series> regions = {background};
  nlohmann::ordered_json j = {{"model", a.model},
                              {"space", "standardised (the model's own)"},
                              {"grid", a.grid},
                              {"range", a.range},
                              {"radius", a.radius},
                              {"steps", a.sampler.steps},
                              {"seeds", to_vector(map.seeds)},
                              {"generated", to_vector(map.ends)}};
  std::vector<torch::Tensor> chosen;
  for (int64_t k = 0; k < a.points; ++k) {
    const auto x = points[k * points.size(0) / a.points];
    chosen.push_back(x);
    const auto region = map.seeds.index_select(0, embedding_region(map, x, a.radius));
    regions.push_back(Series::points(fmt::format("emb(x{})", k), region.select(1, 0), region.select(1, 1)));
    j["embeddings"].push_back(
        {{"point", to_vector(x)},
         {"seeds", region.size(0)},
         {"fraction_of_grid", double(region.size(0)) / double(map.seeds.size(0))},
         {"centroid", region.size(0) ? to_vector(region.mean(0)) : std::vector<double>{}}});
  }
  const auto xs = torch::stack(chosen);
  regions.push_back(Series::points("the points x", xs.select(1, 0), xs.select(1, 1)));
  p.title = fmt::format("embedding regions: grid seeds generating within {} of a point (Fig. 9)", a.radius);
  p.limits = {-a.range, a.range, -a.range, a.range};
  optional_chart([&] { plot_xy(a.out + "/embeddings.png", regions, p); });
  write_file_atomic(a.out + "/gravity.json", j.dump() + "\n");
  spdlog::info("wrote {}/gravity.png, embeddings.png and gravity.json", a.out);
  return 0;
}

void setup_inversion(CLI::App* analyze) {
  auto inv = std::make_shared<InversionArgs>();
  auto* v = analyze->add_subcommand(
      "inversion", "Noise, latent and sample statistics of DDIM inversion (there and back again)");
  v->footer(
      "\nReports the top-10 pixel correlations (its Table 1), the triangle angles (Fig. 2), the\n"
      "distance map between the trajectory and the noise-latent segment (Fig. 3), and the L2\n"
      "assignment accuracies (Table 2); with --checkpoints RUN the same over training (Fig. 4-5).");
  v->add_option("--model", inv->model, "Denoiser checkpoint")->required();
  v->add_option("--n", inv->n, "Noises")->check(CLI::Range(3, 1000000))->capture_default_str();
  add_list_option(v, "--steps", inv->steps, "DDIM steps S, a list (e.g. 10,100,1000)");
  v->add_option("--checkpoints", inv->checkpoints,
                "Run directory whose checkpoints/ to follow over training");
  v->add_option("--lambdas", inv->lambdas, "Points on the noise-latent segment")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  v->add_option("--out", inv->out, "Output directory")->capture_default_str();
  v->add_option("--batch", inv->sampler.batch, "Images per batch")->check(kPositive)->capture_default_str();
  add_bf16_flag(v, inv->sampler.bf16);
  on_run(v, [inv] { return run_inversion(*inv); });
}

void setup_gravity(CLI::App* analyze) {
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

}  // namespace

void setup_analyze(CLI::App& app) {
  auto* analyze = app.add_subcommand(
      "analyze",
      "Experiments on the seed space (model independence, inversion statistics, 2-D maps) and on partitioned "
      "codes (disentanglement, attribute swaps)");
  analyze->require_subcommand(1);
  auto ind = std::make_shared<IndependenceArgs>();
  auto* i =
      analyze->add_subcommand("independence", "The same seeds through two denoisers (seed paper Fig. 10)");
  i->add_option("--model", ind->models, "A denoiser; give --model twice")->required()->expected(2);
  i->add_option("--n", ind->n, "Seeds")->check(CLI::Range(2, 100000000))->capture_default_str();
  i->add_option("--show", ind->show, "Seeds in the picture")->check(kPositive)->capture_default_str();
  i->add_option("--out", ind->out, "Output directory")->capture_default_str();
  add_sampler_options(i, ind->sampler, false);
  on_run(i, [ind] { return run_independence(*ind); });
  setup_inversion(analyze);
  setup_gravity(analyze);
  setup_analyze_gae(analyze);
}

}  // namespace ddim::cli
