// `ddim reconstruct`: images -> seeds by any embedding method, and back: MSE, PSNR and SSIM
// of the outputs against the inputs (the paper's Fig. 3).
#include "commands.h"
#include "common/common.h"
#include "common/embed_args.h"
#include "common/invert_args.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/embedding.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"

namespace ddim::cli {
namespace {

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
  const auto l = load_embed_inputs(a);
  const auto& info = l.denoiser.data();
  spdlog::info("reconstructing {} images with {}, S = {}", l.inputs.images.size(0), l.options.describe(),
               l.options.steps);
  PhaseProgress progress;
  const auto r = reconstruct_images(l.denoiser, l.inputs.images, l.options, l.embedder.get(), a.random_xt,
                                    progress.callback());
  open_run_dir(a.out);
  const auto originals = info.crop(l.inputs.images);
  auto extra = describe_embedding(a, l.options, r.embedding);
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

}  // namespace

void setup_reconstruct(CLI::App& app) {
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
  add_invert_options(rec, *r);
  on_run(rec, [r] { return run_reconstruct(*r); });
}

}  // namespace ddim::cli
