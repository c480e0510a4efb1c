// `ddim embed`: images -> seeds with a trained embedding network, optionally refined by
// gradient descent (seed paper section 5.2, Fig. 16 and 18).
#include <chrono>

#include "commands.h"
#include "common.h"
#include "ddim/annotate.h"
#include "ddim/image.h"
#include "ddim/metrics.h"
#include "ddim/pipeline.h"
#include "ddim/tensor_io.h"
#include "embed_args.h"
#include "inputs.h"
#include "progress.h"
#include "sampling_args.h"

namespace ddim::cli {
namespace {

struct EmbedCmdArgs {
  std::string model, out = "embedding";
  InputArgs inputs;
  SamplerArgs sampler;
  EmbedArgs embed;
  int64_t show = 16;
};

int run_embed(EmbedCmdArgs a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  const auto& info = d.data();
  const auto in = load_inputs(a.inputs, info);
  open_run_dir(a.out);
  a.embed.method = "embedder";
  const int64_t refine = a.embed.refine;
  a.embed.refine = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto seeds = embed_images(d, a.model, in.images, a.embed, a.sampler, {}).seeds;
  const double embed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  SampleOptions plain;
  const auto grid = a.sampler.grid(d);
  const auto originals = crop_padding(in.images, info);
  auto outputs = crop_padding(generate(d, seeds, grid, plain, a.sampler.batch), info);
  auto report = ReconstructionReport::compute(originals, outputs);
  nlohmann::ordered_json extra;
  extra["model"] = a.model;
  extra["embedder"] = a.embed.embedder;
  extra["steps"] = a.sampler.steps;
  extra["seconds_per_image_embed"] = embed_s / static_cast<double>(in.images.size(0));
  std::string title = fmt::format("embedder: mean MSE {:.5f}", report.mean_mse());
  if (refine > 0) {
    a.embed.refine = refine;
    extra["before_refinement"] = report.to_json()["mean"];
    const auto t1 = std::chrono::steady_clock::now();
    seeds = refine_seeds(d, in.images, seeds, a.embed, a.sampler);
    extra["refine"] = refine;
    extra["seconds_per_image_refine"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() /
        static_cast<double>(in.images.size(0));
    outputs = crop_padding(generate(d, seeds, grid, plain, a.sampler.batch), info);
    const double before = report.mean_mse();
    report = ReconstructionReport::compute(originals, outputs);
    title = fmt::format("embedder + {} gradient steps: mean MSE {:.5f} -> {:.5f} (Fig. 18)", refine, before,
                        report.mean_mse());
  }
  save_tensor(a.out + "/seeds.pt", seeds);
  save_tensor(a.out + "/reconstructions.pt", outputs);
  save_tensor(a.out + "/originals.pt", originals);
  if (in.labels.defined()) save_tensor(a.out + "/labels.pt", in.labels);
  write_json(a.out + "/metrics.json", report.to_json(extra).dump(2));
  const int64_t k = std::min<int64_t>(a.show, originals.size(0));
  std::vector<std::string> mse;
  for (int64_t i = 0; i < k; ++i) mse.push_back(fmt::format("{:.4f}", report.mse[i].item<double>()));
  LabeledRowsOptions lo;
  lo.title = title + " (Fig. 16)";
  write_png(a.out + "/embedding.png",
            labeled_rows({originals.slice(0, 0, k), seed_to_image(crop_padding(seeds.slice(0, 0, k), info)),
                          outputs.slice(0, 0, k)},
                         {"original", "seed", "output"}, {{}, {}, mse}, lo));
  spdlog::info("{}; wrote {}/seeds.pt, embedding.png, metrics.json", title, a.out);
  return 0;
}

}  // namespace

void setup_embed(CLI::App& app) {
  auto a = std::make_shared<EmbedCmdArgs>();
  auto* sub =
      app.add_subcommand("embed", "Map images to seeds with a trained embedding network (paper Sec. 5.2)");
  sub->footer(
      "\nWrites seeds.pt, embedding.png (Fig. 16: original / seed / output), reconstructions.pt, "
      "metrics.json.");
  sub->add_option("--model", a->model, "Denoiser checkpoint")->required();
  sub->add_option("--embedder", a->embed.embedder, "Embedder checkpoint (ddim train-embedder)")->required();
  sub->add_flag("--force", a->embed.force, "Use an embedder trained against another denoiser");
  sub->add_option("--refine", a->embed.refine, "Refine with N gradient-descent iterations (paper Fig. 18)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--refine-lr", a->embed.refine_lr, "Adam learning rate of the refinement")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--out", a->out, "Output directory")->capture_default_str();
  add_input_options(sub, a->inputs);
  add_sampler_options(sub, a->sampler, /*sampling=*/false);
  sub->add_option("--show", a->show, "Images in the picture")->check(kPositive)->capture_default_str();
  on_run(sub, [a] { return run_embed(*a); });
}

}  // namespace ddim::cli
