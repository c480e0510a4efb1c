// `ddim invert`: images -> seeds by any embedding method (DDIM or fixed-point inversion,
// gradient descent, an embedding network; optionally refined).
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

int run_invert(const InvertArgs& a) {
  const auto l = load_embed_inputs(a);
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
  auto j = describe_embedding(a, l.options, e);
  j["count"] = e.seeds.size(0);
  j["seed_mean"] = e.seeds.mean().item<double>();
  j["seed_std"] = e.seeds.std().item<double>();
  write_json(a.out + "/invert.json", j);
  spdlog::info("wrote {}/seeds.pt and seeds.png", a.out);
  return 0;
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
  add_invert_options(sub, *a);
  on_run(sub, [a] { return run_invert(*a); });
}

}  // namespace ddim::cli
