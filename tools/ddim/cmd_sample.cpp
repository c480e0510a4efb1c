// `ddim sample`: generate images (or points) from seeds with the DDIM sampler.
#include <chrono>

#include "commands.h"
#include "common.h"
#include "ddim/annotate.h"
#include "ddim/error.h"
#include "ddim/image.h"
#include "ddim/pipeline.h"
#include "ddim/plot.h"
#include "ddim/rng.h"
#include "ddim/tensor_io.h"
#include "inputs.h"
#include "progress.h"
#include "sampling_args.h"

namespace ddim::cli {
namespace {

struct SampleArgs {
  std::string model, out = "samples", seeds_in, latent;
  int64_t n = 64;
  int64_t columns = 0;
  bool trajectory = false;
  SamplerArgs sampler;
};

int run_sample(const SampleArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  const auto& info = d.data();
  torch::Tensor seeds;
  if (!a.seeds_in.empty()) {
    seeds = load_seeds(a.seeds_in, info);
  } else {
    auto gen = make_generator(global_options().seed);
    std::vector<int64_t> shape = {a.n};
    shape.insert(shape.end(), info.shape.begin(), info.shape.end());
    seeds = randn(shape, gen);
  }
  DDIM_CHECK_ARG(
      d.network().cond_dim() == 0 || !a.latent.empty(),
      "{} is a diffusion autoencoder: unconditional sampling draws z_sem from a latent DDIM; train one "
      "with `ddim train-latent --model {} --out L` and pass --latent L/model.pt",
      a.model, a.model);
  DDIM_CHECK_ARG(d.network().cond_dim() > 0 || a.latent.empty(),
                 "--latent is for diffusion autoencoders; {} is a plain denoiser", a.model);
  const auto grid = a.sampler.grid(d);
  auto opts = a.sampler.sample_options(d);
  auto eta_gen = make_generator(mix_seed(global_options().seed, 0xe7a));
  opts.generator = &eta_gen;
  // A diffusion autoencoder samples its semantic codes from its latent DDIM first.
  torch::Tensor codes;
  if (d.network().cond_dim() > 0) {
    auto latent = load_model(a.latent, a.sampler, device);
    DDIM_CHECK_ARG(latent.data().shape == std::vector<int64_t>{d.network().cond_dim()},
                   "{} does not model {}-dimensional codes", a.latent, d.network().cond_dim());
    open_run_dir(a.out);
    auto lgen = make_generator(mix_seed(global_options().seed, 0x1a7e));
    codes = generate(latent, randn({seeds.size(0), d.network().cond_dim()}, lgen), a.sampler.grid(latent), {},
                     a.sampler.batch);
    save_tensor(a.out + "/zsem.pt", codes);
  }
  if (!codes.defined()) open_run_dir(a.out);  // once every input is loaded and checked
  Progress progress("sample", seeds.size(0), "img");
  const auto start = std::chrono::steady_clock::now();
  auto samples = generate(
      d, seeds, grid, opts, a.sampler.batch, [&](int64_t done) { progress.update(done); }, codes);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish();
  save_tensor(a.out + "/seeds.pt", seeds);
  auto shown = crop_padding(samples, info);
  save_tensor(a.out + "/samples.pt", shown);
  if (info.is_image()) {
    const int64_t cols =
        a.columns > 0 ? a.columns : static_cast<int64_t>(std::ceil(std::sqrt(double(shown.size(0)))));
    write_png(a.out + "/samples.png", make_grid(shown, cols));
  } else {
    PlotOptions p;
    p.title = fmt::format("{} samples, S = {}", samples.size(0), a.sampler.steps);
    p.equal_axes = true;
    optional_chart([&] {
      plot_xy(a.out + "/samples.png", {Series::points("samples", samples.select(1, 0), samples.select(1, 1))},
              p);
    });
  }
  if (a.trajectory && info.is_image()) {
    // The states x_t along the grid for the first few seeds: one row per seed.
    torch::NoGradGuard no_grad;
    auto o = opts;
    o.keep_trajectory = true;
    const int64_t k = std::min<int64_t>(8, seeds.size(0));
    auto r = ddim_sample(d.eps_fn(codes.defined() ? codes.slice(0, 0, k).to(device) : codes),
                         seeds.slice(0, 0, k).to(device), grid, o);
    std::vector<torch::Tensor> rows;
    std::vector<std::string> labels;
    for (int64_t i = 0; i < k; ++i) {
      std::vector<torch::Tensor> states;
      for (const auto& x : r.trajectory) states.push_back(d.to_data(x.slice(0, i, i + 1)).to(torch::kCPU));
      rows.push_back(crop_padding(torch::cat(states), info));
      labels.push_back(fmt::format("seed {}", i));
    }
    std::vector<std::vector<std::string>> captions(1);
    for (size_t s = 0; s < grid.times.size(); ++s)
      captions[0].push_back(fmt::format("t={:.2f}", grid.times[s]));
    LabeledRowsOptions lo;
    lo.title = "DDIM trajectories (data units, clipped)";
    write_png(a.out + "/trajectory.png", labeled_rows(rows, labels, captions, lo));
  }
  nlohmann::ordered_json j;
  j["model"] = a.model;
  j["n"] = samples.size(0);
  j["steps"] = a.sampler.steps;
  j["eta"] = a.sampler.eta;
  j["seconds"] = secs;
  j["images_per_s"] = static_cast<double>(samples.size(0)) / secs;
  write_json(a.out + "/sample.json", j.dump(2));
  spdlog::info("wrote {} samples to {}/samples.png and samples.pt ({:.1f} images/s)", samples.size(0), a.out,
               j["images_per_s"].get<double>());
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
  on_run(sub, [a] { return run_sample(*a); });
}

}  // namespace ddim::cli
