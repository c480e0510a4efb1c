// `ddim invert` and `ddim reconstruct`: images -> seeds by DDIM inversion, and back.
#include <chrono>

#include "commands.h"
#include "common.h"
#include "ddim/annotate.h"
#include "ddim/error.h"
#include "ddim/image.h"
#include "ddim/metrics.h"
#include "ddim/pipeline.h"
#include "ddim/rng.h"
#include "ddim/tensor_io.h"
#include "embed_args.h"
#include "inputs.h"
#include "progress.h"
#include "sampling_args.h"

namespace ddim::cli {
namespace {

struct InvertArgs {
  std::string model, out = "inversion";
  InputArgs inputs;
  SamplerArgs sampler;
  EmbedArgs embed;
  int64_t show = 16;
  bool random_xt = false;
};

struct Timed {
  torch::Tensor value;
  torch::Tensor codes;
  double seconds;
};

Timed timed_embed(const Denoiser& d, const torch::Tensor& images, const InvertArgs& a) {
  Progress progress("embed", images.size(0), "img");
  const auto start = std::chrono::steady_clock::now();
  auto seeds =
      embed_images(d, a.model, images, a.embed, a.sampler, [&](int64_t done) { progress.update(done); });
  progress.finish();
  return {seeds.seeds, seeds.codes,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

int run_invert(const InvertArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  const auto in = load_inputs(a.inputs, d.data());
  open_run_dir(a.out);
  spdlog::info("inverting {} images with {}, S = {}", in.images.size(0), a.embed.describe(), a.sampler.steps);
  const auto seeds = timed_embed(d, in.images, a);
  save_tensor(a.out + "/seeds.pt", seeds.value);
  if (seeds.codes.defined()) save_tensor(a.out + "/zsem.pt", seeds.codes);
  const int64_t k = std::min<int64_t>(a.show, in.images.size(0));
  LabeledRowsOptions lo;
  lo.title = fmt::format("{}, S = {}", a.embed.describe(), a.sampler.steps);
  write_png(a.out + "/seeds.png",
            labeled_rows({crop_padding(in.images.slice(0, 0, k), d.data()),
                          seed_to_image(crop_padding(seeds.value.slice(0, 0, k), d.data()))},
                         {"images", "seeds"}, {}, lo));
  nlohmann::ordered_json j;
  j["model"] = a.model;
  j["method"] = a.embed.resolved_method();
  j["steps"] = a.sampler.steps;
  j["count"] = seeds.value.size(0);
  j["seconds"] = seeds.seconds;
  j["seconds_per_image"] = seeds.seconds / static_cast<double>(seeds.value.size(0));
  j["seed_mean"] = seeds.value.mean().item<double>();
  j["seed_std"] = seeds.value.std().item<double>();
  write_json(a.out + "/invert.json", j.dump(2));
  spdlog::info("wrote {}/seeds.pt and seeds.png", a.out);
  return 0;
}

int run_reconstruct(const InvertArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  const auto& info = d.data();
  const auto in = load_inputs(a.inputs, info);
  open_run_dir(a.out);
  spdlog::info("reconstructing {} images with {}, S = {}", in.images.size(0), a.embed.describe(),
               a.sampler.steps);
  const auto seeds = timed_embed(d, in.images, a);
  Progress progress("generate", in.images.size(0), "img");
  // Reconstruction samples without clipping or noise: the inverse of what inversion did.
  auto opts = a.sampler.sample_options(d);
  opts.eta = 0;
  auto xt = seeds.value;
  if (a.random_xt) {
    // Diff-AE's ablation (its Table 2.a): decode the semantic code from random x_T.
    DDIM_CHECK_ARG(seeds.codes.defined(), "--random-xt is for diffusion autoencoders (it keeps only z_sem)");
    auto gen = make_generator(global_options().seed);
    xt = randn(xt.sizes(), gen);
  }
  auto recon = generate(
      d, xt, a.sampler.grid(d), opts, a.sampler.batch, [&](int64_t done) { progress.update(done); },
      seeds.codes);
  progress.finish();
  const auto originals = crop_padding(in.images, info), outputs = crop_padding(recon, info);
  const auto report = ReconstructionReport::compute(originals, outputs);
  nlohmann::ordered_json extra;
  extra["model"] = a.model;
  const auto method = a.embed.resolved_method();
  extra["method"] = method;
  if (method == "fixed-point") extra["iters"] = a.embed.iters;
  if (method == "ddim") extra["label"] = a.embed.label;
  if (method == "embedder") extra["embedder"] = a.embed.embedder;
  if (a.embed.refine > 0) extra["refine"] = a.embed.refine;
  if (seeds.codes.defined()) extra["x_T"] = a.random_xt ? "random" : "inferred";
  extra["steps"] = a.sampler.steps;
  extra["seconds_per_image_embed"] = seeds.seconds / static_cast<double>(in.images.size(0));
  write_json(a.out + "/metrics.json", report.to_json(extra).dump(2));
  save_tensor(a.out + "/seeds.pt", xt);  // the x_T that was decoded (the random one with --random-xt)
  save_tensor(a.out + "/reconstructions.pt", outputs);
  save_tensor(a.out + "/originals.pt", originals);
  if (in.labels.defined()) save_tensor(a.out + "/labels.pt", in.labels);
  // The paper's Fig. 3 layout: originals / seeds / reconstructions, MSE above each output.
  const int64_t k = std::min<int64_t>(a.show, originals.size(0));
  std::vector<std::string> mse;
  for (int64_t i = 0; i < k; ++i) mse.push_back(fmt::format("{:.4f}", report.mse[i].item<double>()));
  LabeledRowsOptions lo;
  const auto how = !seeds.codes.defined() ? a.embed.describe()
                   : a.random_xt          ? std::string("Diff-AE: z_sem with a random x_T")
                                          : "Diff-AE: z_sem with x_T by " + a.embed.describe();
  lo.title = fmt::format("{}, S = {}: mean MSE {:.5f}", how, a.sampler.steps, report.mean_mse());
  write_png(a.out + "/reconstruction.png",
            labeled_rows({originals.slice(0, 0, k), seed_to_image(crop_padding(xt.slice(0, 0, k), info)),
                          outputs.slice(0, 0, k)},
                         {"original", "seed", "output"}, {{}, {}, mse}, lo));
  spdlog::info(
      "mean MSE {:.6f}, PSNR {:.2f} dB, SSIM {:.4f} over {} images; wrote {}/metrics.json and "
      "reconstruction.png",
      report.mean_mse(), report.psnr.mean().item<double>(), report.ssim.mean().item<double>(),
      originals.size(0), a.out);
  return 0;
}

void add_options(CLI::App* sub, InvertArgs& a) {
  sub->add_option("--model", a.model, "Denoiser checkpoint")->required();
  sub->add_option("--out", a.out, "Output directory")->capture_default_str();
  add_input_options(sub, a.inputs);
  add_embed_options(sub, a.embed);
  add_sampler_options(sub, a.sampler, /*sampling=*/false);
  sub->add_option("--show", a.show, "Images in the picture")->check(kPositive)->capture_default_str();
}

}  // namespace

void setup_invert(CLI::App& app) {
  auto a = std::make_shared<InvertArgs>();
  a->out = "inversion";
  auto* sub = app.add_subcommand(
      "invert", "Map images to seeds by DDIM inversion (plain or fixed-point) or an embedder");
  sub->footer("\nWrites seeds.pt ([N, C, H, W]), seeds.png and invert.json. Inversion never clips.");
  add_options(sub, *a);
  on_run(sub, [a] { return run_invert(*a); });

  auto r = std::make_shared<InvertArgs>();
  r->out = "reconstruction";
  auto* rec =
      app.add_subcommand("reconstruct", "Invert images to seeds and generate them back: MSE, PSNR, SSIM");
  rec->add_flag("--random-xt", r->random_xt,
                "Diff-AE: decode the semantic code from random x_T (its Table 2.a)");
  rec->footer(
      "\nWrites reconstruction.png (the paper's Fig. 3: originals / seeds / outputs), metrics.json\n"
      "({\"mean\": {\"mse\", \"psnr\", \"ssim\"}, \"per_image\": [...]}, over the original pixels, padding\n"
      "cropped), seeds.pt and reconstructions.pt. Other sizes and channel counts are fitted to the\n"
      "model (gray <-> RGB; centre crop and resize; zero padding like the training data).");
  add_options(rec, *r);
  on_run(rec, [r] { return run_reconstruct(*r); });
}

}  // namespace ddim::cli
