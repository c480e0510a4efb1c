// `ddim sample`: generate images (or points) from seeds with the DDIM sampler.
#include <chrono>

#include "commands.h"
#include "common/common.h"
#include "common/inputs.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"
#include "ddim/pictures/plot.h"

namespace ddim::cli {
namespace {

// Random streams of this command (rng.h).
constexpr uint64_t kLatentStream = 0x1a7e;

struct SampleArgs {
  std::string model, out = "samples", seeds_in, latent;
  int64_t n = 64;
  int64_t columns = 0;
  bool trajectory = false;
  SamplerArgs sampler;
  ClassArgs klass;
};

// The seeds and the condition: with --class all, every seed once in every class (rows of the
// grid), else the given class for all, or none.
std::pair<torch::Tensor, Condition> conditioned(const Denoiser& d, const SampleArgs& a, torch::Tensor seeds) {
  if (a.klass.name != "all") return {seeds, a.klass.condition(d, seeds.size(0))};
  DDIM_CHECK_ARG(
      d.network().conditioning() == Conditioning::Class,
      "--class all: this model is not class-conditional (train one with ddim train --class-conditional)");
  const int64_t k = d.network().classes(), n = seeds.size(0);
  std::vector<int64_t> repeat(seeds.dim(), 1);
  repeat[0] = k;
  return {seeds.repeat(repeat),
          Condition(d.class_condition(torch::arange(k).repeat_interleave(n)), a.klass.guidance)};
}

// A diffusion autoencoder samples its semantic codes from its latent DDIM first (Diff-AE 3.3).
torch::Tensor sample_codes(const Denoiser& d, const SampleArgs& a, int64_t n, const torch::Device& device) {
  if (d.network().conditioning() != Conditioning::Semantic) return {};
  auto latent = load_model(a.latent, a.sampler, device);
  DDIM_CHECK_ARG(latent.data().shape == std::vector<int64_t>{d.network().cond_dim()},
                 "{} does not model {}-dimensional codes", a.latent, d.network().cond_dim());
  auto gen = make_generator(mix_seed(global_options().seed, kLatentStream));
  return generate(latent, randn({n, d.network().cond_dim()}, gen), a.sampler.grid(latent), {},
                  a.sampler.batch);
}

// The states x_t along the grid for the first few seeds: one row per seed.
void write_trajectory(const std::string& path, const Denoiser& d, const torch::Tensor& seeds,
                      const Condition& condition, const SampleArgs& a, SampleOptions o) {
  torch::NoGradGuard no_grad;
  o.keep_trajectory = true;
  const auto grid = a.sampler.grid(d);
  const int64_t k = std::min<int64_t>(8, seeds.size(0));
  const auto device = d.device();
  auto c = condition.slice(0, k);
  if (c.vectors.defined()) c.vectors = c.vectors.to(device);
  auto r = ddim_sample(d.eps_fn(c), seeds.slice(0, 0, k).to(device), grid, o);
  std::vector<torch::Tensor> rows;
  std::vector<std::string> labels;
  for (int64_t i = 0; i < k; ++i) {
    std::vector<torch::Tensor> states;
    for (const auto& x : r.trajectory) states.push_back(d.to_data(x.slice(0, i, i + 1)).to(torch::kCPU));
    rows.push_back(d.data().crop(torch::cat(states)));
    labels.push_back(fmt::format("seed {}", i));
  }
  std::vector<std::vector<std::string>> captions(1);
  for (double t : grid.times) captions[0].push_back(fmt::format("t={:.2f}", t));
  LabeledRowsOptions lo;
  lo.title = "DDIM trajectories (data units, clipped)";
  write_png(path, labeled_rows(rows, labels, captions, lo));
}

// columns: 0 for a square grid.
void write_picture(const std::string& path, const torch::Tensor& shown, const DataInfo& info,
                   const SampleArgs& a, int64_t columns) {
  if (info.is_image()) {
    const int64_t square = static_cast<int64_t>(std::ceil(std::sqrt(double(shown.size(0)))));
    const int64_t cols = columns > 0 ? columns : square;
    write_png(path, make_grid(shown, cols));
    return;
  }
  PlotOptions p;
  p.title = fmt::format("{} samples, S = {}", shown.size(0), a.sampler.steps);
  p.equal_axes = true;
  optional_chart(
      [&] { plot_xy(path, {Series::points("samples", shown.select(1, 0), shown.select(1, 1))}, p); });
}

void write_summary(const std::string& path, const SampleArgs& a, int64_t n, double secs) {
  nlohmann::ordered_json j;
  j["model"] = a.model;
  j["n"] = n;
  j["steps"] = a.sampler.steps;
  j["eta"] = a.sampler.eta;
  if (!a.klass.name.empty()) j["class"] = a.klass.name;
  j["guidance"] = a.klass.guidance;
  j["seconds"] = secs;
  j["images_per_s"] = static_cast<double>(n) / secs;
  write_json(path, j);
  spdlog::info("wrote {} samples to {}/samples.png and samples.pt ({:.1f} images/s)", n, a.out,
               j["images_per_s"].get<double>());
}

int run_sample(const SampleArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  const auto& info = d.data();
  DDIM_CHECK_ARG(
      d.network().conditioning() != Conditioning::Semantic || !a.latent.empty(),
      "{} is a diffusion autoencoder: unconditional sampling draws z_sem from a latent DDIM; train one "
      "with `ddim train-latent --model {} --out L` and pass --latent L/model.pt",
      a.model, a.model);
  DDIM_CHECK_ARG(d.network().conditioning() == Conditioning::Semantic || a.latent.empty(),
                 "--latent is for diffusion autoencoders; {} is a plain denoiser", a.model);
  auto [seeds, condition] = conditioned(
      d, a,
      a.seeds_in.empty() ? random_seeds(info, a.n, global_options().seed) : load_seeds(a.seeds_in, info));
  const auto codes = sample_codes(d, a, seeds.size(0), device);
  if (codes.defined()) condition = Condition(codes);
  open_run_dir(a.out);
  if (codes.defined()) save_tensor(a.out + "/zsem.pt", codes);
  auto opts = a.sampler.sample_options(d);
  auto eta_gen = eta_generator(global_options().seed);
  opts.generator = &eta_gen;
  Progress progress("sample", seeds.size(0), "img");
  const auto start = std::chrono::steady_clock::now();
  const auto samples = generate(
      d, seeds, a.sampler.grid(d), opts, a.sampler.batch, [&](int64_t done) { progress.update(done); },
      condition);
  const double secs = seconds_since(start);
  progress.finish();
  save_tensor(a.out + "/seeds.pt", seeds);
  const auto shown = info.crop(samples);
  save_tensor(a.out + "/samples.pt", shown);
  // --class all: a row per class.
  const int64_t rows = a.klass.name == "all" ? d.network().classes() : 1;
  write_picture(a.out + "/samples.png", shown, info, a,
                a.columns > 0 ? a.columns
                : rows > 1    ? shown.size(0) / rows
                              : 0);
  if (a.trajectory && info.is_image())
    write_trajectory(a.out + "/trajectory.png", d, seeds, condition, a, opts);
  write_summary(a.out + "/sample.json", a, samples.size(0), secs);
  return 0;
}

}  // namespace

void setup_sample(CLI::App& app) {
  auto a = std::make_shared<SampleArgs>();
  auto* sub = app.add_subcommand("sample", "Generate images from random or given seeds with DDIM");
  sub->footer(
      "\nWrites samples.png (grid), samples.pt (images in [0, 1], padding cropped), seeds.pt, sample.json.");
  sub->add_option("--model", a->model, "Denoiser checkpoint")->required();
  sub->add_option("--out", a->out, "Output directory")->capture_default_str();
  auto* n = sub->add_option("--n", a->n, "Number of samples (seeds from --seed)")
                ->check(kPositive)
                ->capture_default_str();
  sub->add_option("--seeds-in", a->seeds_in, "Sample these seeds (.pt, [N, C, H, W]) instead")->excludes(n);
  sub->add_option("--columns", a->columns, "Grid columns (0: square)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_flag("--trajectory", a->trajectory, "Also draw the states along the grid for the first 8 seeds");
  sub->add_option("--latent", a->latent, "Diff-AE: the latent DDIM (ddim train-latent) that samples z_sem");
  add_sampler_options(sub, a->sampler);
  add_class_options(sub, a->klass, ", or all (every seed in every class: a class x seed grid)");
  on_run(sub, [a] { return run_sample(*a); });
}

}  // namespace ddim::cli
