// `ddim decode`: a diffusion autoencoder's semantic codes (and x_T, or random ones) -> images.
#include <cmath>

#include "commands.h"
#include "common/common.h"
#include "common/inputs.h"
#include "common/sampling_args.h"
#include "ddim/core/error.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/pictures/grid.h"

namespace ddim::cli {
namespace {

struct DecodeArgs {
  std::string model, zsem, xt, out = "decoding";
  SamplerArgs sampler;
};

int run_decode(const DecodeArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  require_autoencoder(d, a.model);
  const auto codes = load_tensor(a.zsem, TensorRules::finite_floats());
  DDIM_CHECK_ARG(codes.dim() == 2 && codes.size(0) > 0 && codes.size(1) == d.network().cond_dim(),
                 "{}: semantic codes of shape {} do not fit this model (it needs [N, {}])", a.zsem,
                 fmt::join(codes.sizes(), "x"), d.network().cond_dim());
  torch::Tensor xt;
  if (!a.xt.empty()) {
    xt = load_seeds(a.xt, d.data());
    DDIM_CHECK_ARG(xt.size(0) == codes.size(0), "{} holds {} x_T for {} codes", a.xt, xt.size(0),
                   codes.size(0));
  } else {
    xt = random_seeds(d.data(), codes.size(0), global_options().seed);
  }
  open_run_dir(a.out);
  const auto images = d.data().crop(generate(d, xt, a.sampler.grid(d), {}, a.sampler.batch, {}, codes));
  save_tensor(a.out + "/images.pt", images);
  write_png(a.out + "/images.png",
            make_grid(images, static_cast<int64_t>(std::ceil(std::sqrt(double(images.size(0)))))));
  spdlog::info("decoded {} images into {}/images.png and images.pt (x_T {})", images.size(0), a.out,
               a.xt.empty() ? "random" : "given");
  return 0;
}

}  // namespace

void setup_decode(CLI::App& app) {
  auto dd = std::make_shared<DecodeArgs>();
  auto* dec = app.add_subcommand("decode", "Diff-AE: semantic codes (and x_T, or random) -> images");
  dec->add_option("--model", dd->model, "Diffusion autoencoder")->required();
  dec->add_option("--zsem", dd->zsem, "Semantic codes [N, d] (.pt)")->required();
  dec->add_option("--xT", dd->xt, "Stochastic codes [N, C, H, W] (.pt); default random from --seed");
  dec->add_option("--out", dd->out, "Output directory")->capture_default_str();
  add_sampler_options(dec, dd->sampler, false);
  on_run(dec, [dd] { return run_decode(*dd); });
}

}  // namespace ddim::cli
