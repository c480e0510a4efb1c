// `ddim encode`: a diffusion autoencoder's (Preechakul et al. 2022) images -> semantic codes
// z_sem and stochastic codes x_T.
#include "commands.h"
#include "common/common.h"
#include "common/embed_args.h"
#include "common/inputs.h"
#include "common/sampling_args.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/embedding.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"

namespace ddim::cli {
namespace {

struct EncodeArgs {
  std::string model, out = "encoding";
  InputArgs inputs;
  SamplerArgs sampler;
  EmbedArgs embed;
};

int run_encode(const EncodeArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  require_autoencoder(d, a.model);
  const auto in = load_inputs(a.inputs, d.data());
  const auto options = a.embed.resolved(a.sampler);
  PhaseProgress progress;
  const auto e = embed_images(d, in.images, options, nullptr, progress.callback());
  open_run_dir(a.out);
  save_tensor(a.out + "/zsem.pt", e.codes);
  save_tensor(a.out + "/xT.pt", e.seeds);
  const int64_t k = std::min<int64_t>(16, in.images.size(0));
  LabeledRowsOptions lo;
  lo.title = fmt::format("semantic codes ({} dims) and stochastic codes x_T ({}, S = {})", e.codes.size(1),
                         options.describe(), options.steps);
  write_png(a.out + "/encoding.png", labeled_rows({d.data().crop(in.images.slice(0, 0, k)),
                                                   seed_to_image(d.data().crop(e.seeds.slice(0, 0, k)))},
                                                  {"image", "x_T"}, {}, lo));
  write_json(a.out + "/encode.json", {{"model", a.model},
                                      {"images", in.images.size(0)},
                                      {"z_dim", e.codes.size(1)},
                                      {"steps", options.steps},
                                      {"method", to_string(options.method)}});
  spdlog::info("wrote {}/zsem.pt ({}x{}) and xT.pt", a.out, e.codes.size(0), e.codes.size(1));
  return 0;
}

}  // namespace

void setup_encode(CLI::App& app) {
  auto e = std::make_shared<EncodeArgs>();
  auto* enc =
      app.add_subcommand("encode", "Diff-AE: images -> semantic codes z_sem and stochastic codes x_T");
  enc->add_option("--model", e->model, "Diffusion autoencoder (ddim train --arch diffae)")->required();
  enc->add_option("--out", e->out, "Output directory (zsem.pt, xT.pt)")->capture_default_str();
  add_input_options(enc, e->inputs);
  add_embed_options(enc, e->embed, false);
  add_sampler_options(enc, e->sampler, false);
  on_run(enc, [e] { return run_encode(*e); });
}

}  // namespace ddim::cli
