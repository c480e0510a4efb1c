// `ddim invert` and `ddim reconstruct`: images -> seeds by any embedding method (DDIM or
// fixed-point inversion, gradient descent, an embedding network; optionally refined), and back.
#include "commands.h"
#include "common/common.h"
#include "common/embed_args.h"
#include "common/inputs.h"
#include "common/sampling_args.h"
#include "ddim/core/error.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/embedding.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"

namespace ddim::cli {
namespace {

struct InvertArgs {
  std::string model, out;
  InputArgs inputs;
  SamplerArgs sampler;
  EmbedArgs embed;
  ClassArgs klass;
  int64_t show = 16;
  bool random_xt = false;
};

// What every embedding command loads: the denoiser, the embedder if any, the images.
struct Loaded {
  Denoiser denoiser;
  std::shared_ptr<Embedder> embedder;
  Inputs inputs;
  EmbedOptions options;
};

Loaded load(const InvertArgs& a) {
  const auto device = init_runtime();
  const auto ck = load_checkpoint(a.model);
  auto d = load_model(ck, a.model, a.sampler, device);
  auto options = a.embed.resolved(a.sampler);
  auto inputs = load_inputs(a.inputs, d.data());
  options.condition = a.klass.condition(d, inputs.images.size(0), inputs.labels);
  options.validate(d);
  auto embedder =
      options.method == EmbedMethod::Embedder ? a.embed.load_network(ck, a.model, device) : nullptr;
  return {std::move(d), std::move(embedder), std::move(inputs), options};
}

// The embedding's settings and timings, for invert.json and metrics.json.
nlohmann::ordered_json describe(const InvertArgs& a, const EmbedOptions& o, const Embedding& e) {
  nlohmann::ordered_json j;
  j["model"] = a.model;
  j["method"] = to_string(o.method);
  if (o.method == EmbedMethod::FixedPoint) j["iters"] = o.iterations;
  if (o.method == EmbedMethod::DDIMInversion) j["label"] = to_string(o.label);
  if (o.method == EmbedMethod::GradientDescent) j["descent_iters"] = o.descent_iterations;
  if (o.method == EmbedMethod::Embedder) j["embedder"] = a.embed.embedder;
  if (o.refine > 0) j["refine"] = o.refine;
  j["steps"] = o.steps;
  const double n = static_cast<double>(e.seeds.size(0));
  j["seconds_per_image_embed"] = e.embed_seconds / n;
  if (o.refine > 0) j["seconds_per_image_refine"] = e.refine_seconds / n;
  return j;
}

int run_invert(const InvertArgs& a) {
  const auto l = load(a);
  const auto& info = l.denoiser.data();
  spdlog::info("inverting {} images with {}, S = {}", l.inputs.images.size(0), l.options.describe(),
               l.options.steps);
  PhaseProgress progress;
  const auto e = embed_images(l.denoiser, l.inputs.images, l.options, l.embedder.get(), progress.callback());
  open_run_dir(a.out);
  save_tensor(a.out + "/seeds.pt", e.seeds);
  if (e.codes.defined()) save_tensor(a.out + "/zsem.pt", e.codes);
  const int64_t k = std::min<int64_t>(a.show, e.seeds.size(0));
  LabeledRowsOptions lo;
  lo.title = fmt::format("{}, S = {}", l.options.describe(), l.options.steps);
  write_png(a.out + "/seeds.png", labeled_rows({info.crop(l.inputs.images.slice(0, 0, k)),
                                                seed_to_image(info.crop(e.seeds.slice(0, 0, k)))},
                                               {"images", "seeds"}, {}, lo));
  auto j = describe(a, l.options, e);
  j["count"] = e.seeds.size(0);
  j["seed_mean"] = e.seeds.mean().item<double>();
  j["seed_std"] = e.seeds.std().item<double>();
  write_json(a.out + "/invert.json", j);
  spdlog::info("wrote {}/seeds.pt and seeds.png", a.out);
  return 0;
}

// The paper's Fig. 3 layout: originals / seeds / reconstructions, MSE above each output.
void write_figure(const std::string& path, const Reconstruction& r, const torch::Tensor& originals,
                  const DataInfo& info, const std::string& how, int64_t steps, int64_t show) {
  const int64_t k = std::min<int64_t>(show, originals.size(0));
  std::vector<std::string> mse;
  for (int64_t i = 0; i < k; ++i) mse.push_back(fmt::format("{:.4f}", r.report.mse[i].item<double>()));
  LabeledRowsOptions lo;
  lo.title = fmt::format("{}, S = {}: mean MSE {:.5f}", how, steps, r.report.mean_mse());
  if (r.before_refinement)
    lo.title += fmt::format(" (before refinement {:.5f}; Fig. 18)", r.before_refinement->mean_mse());
  write_png(path, labeled_rows({originals.slice(0, 0, k), seed_to_image(info.crop(r.decoded.slice(0, 0, k))),
                                r.outputs.slice(0, 0, k)},
                               {"original", "seed", "output"}, {{}, {}, mse}, lo));
}

int run_reconstruct(const InvertArgs& a) {
  const auto l = load(a);
  const auto& info = l.denoiser.data();
  spdlog::info("reconstructing {} images with {}, S = {}", l.inputs.images.size(0), l.options.describe(),
               l.options.steps);
  PhaseProgress progress;
  const auto r = reconstruct_images(l.denoiser, l.inputs.images, l.options, l.embedder.get(), a.random_xt,
                                    progress.callback());
  open_run_dir(a.out);
  const auto originals = info.crop(l.inputs.images);
  auto extra = describe(a, l.options, r.embedding);
  if (r.embedding.codes.defined()) extra["x_T"] = a.random_xt ? "random" : "inferred";
  if (r.before_refinement) extra["before_refinement"] = r.before_refinement->to_json()["mean"];
  write_json(a.out + "/metrics.json", r.report.to_json(extra));
  save_tensor(a.out + "/seeds.pt", r.decoded);  // the x_T decoded (the random one with --random-xt)
  save_tensor(a.out + "/reconstructions.pt", r.outputs);
  save_tensor(a.out + "/originals.pt", originals);
  if (l.inputs.labels.defined()) save_tensor(a.out + "/labels.pt", l.inputs.labels);
  const auto how = !r.embedding.codes.defined() ? l.options.describe()
                   : a.random_xt                ? std::string("Diff-AE: z_sem with a random x_T")
                                                : "Diff-AE: z_sem with x_T by " + l.options.describe();
  write_figure(a.out + "/reconstruction.png", r, originals, info, how, l.options.steps, a.show);
  spdlog::info(
      "mean MSE {:.6f}, PSNR {:.2f} dB, SSIM {:.4f} over {} images; wrote {}/metrics.json and "
      "reconstruction.png",
      r.report.mean_mse(), r.report.psnr.mean().item<double>(), r.report.ssim.mean().item<double>(),
      originals.size(0), a.out);
  return 0;
}

void add_options(CLI::App* sub, InvertArgs& a) {
  sub->add_option("--model", a.model, "Denoiser checkpoint")->required();
  sub->add_option("--out", a.out, "Output directory")->capture_default_str();
  add_input_options(sub, a.inputs);
  add_embed_options(sub, a.embed);
  add_sampler_options(sub, a.sampler, /*sampling=*/false);
  add_class_options(sub, a.klass, ", or label (each image's own label)", /*guidance=*/false);
  sub->add_option("--show", a.show, "Images in the picture")->check(kPositive)->capture_default_str();
}

}  // namespace

void setup_invert(CLI::App& app) {
  auto a = std::make_shared<InvertArgs>();
  a->out = "inversion";
  auto* sub = app.add_subcommand(
      "invert", "Map images to seeds: DDIM or fixed-point inversion, gradient descent, or an embedder");
  sub->footer(
      "\nWrites seeds.pt ([N, C, H, W]), seeds.png and invert.json (with the seconds per image).\n"
      "Inversion never clips. --refine N refines any method's seeds by gradient descent (paper Fig. 18).");
  add_options(sub, *a);
  on_run(sub, [a] { return run_invert(*a); });

  auto r = std::make_shared<InvertArgs>();
  r->out = "reconstruction";
  auto* rec =
      app.add_subcommand("reconstruct", "Embed images into seeds and generate them back: MSE, PSNR, SSIM");
  rec->add_flag("--random-xt", r->random_xt,
                "Diff-AE: decode the semantic code from random x_T (its Table 2.a)");
  rec->footer(
      "\nWrites reconstruction.png (the paper's Fig. 3: originals / seeds / outputs), metrics.json\n"
      "({\"mean\": {\"mse\", \"psnr\", \"ssim\"}, \"per_image\": [...]}, over the original pixels, padding\n"
      "cropped; with --refine also the method's own result, \"before_refinement\"), seeds.pt,\n"
      "reconstructions.pt and originals.pt. Other sizes and channel counts are fitted to the model\n"
      "(gray <-> RGB; centre crop and resize; zero padding like the training data).\n"
      "Example (an embedder refined by 50 gradient steps, the paper's Fig. 16 and 18):\n"
      "  ddim reconstruct --model runs/q/model.pt --embedder runs/emb/model.pt --refine 50 --limit 16");
  add_options(rec, *r);
  on_run(rec, [r] { return run_reconstruct(*r); });
}

}  // namespace ddim::cli
