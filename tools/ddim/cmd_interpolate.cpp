// `ddim interpolate`: the paper's Fig. 19. Embed two images, interpolate their seeds, and
// generate: rows are the pixel-space blend, the interpolated seeds, and the generated images.
#include <filesystem>

#include "commands.h"
#include "common.h"
#include "ddim/annotate.h"
#include "ddim/error.h"
#include "ddim/image.h"
#include "ddim/interpolation.h"
#include "ddim/metrics.h"
#include "ddim/pipeline.h"
#include "ddim/tensor_io.h"
#include "embed_args.h"
#include "inputs.h"
#include "sampling_args.h"

namespace ddim::cli {
namespace {

struct InterpolateArgs {
  std::string model, from, to, out = "interpolation.png", mode = "lerp";
  int64_t frames = 9;
  DataArgs data;
  SamplerArgs sampler;
  EmbedArgs embed;
};

// An end point: an image file, or an index into the data split.
torch::Tensor load_end(const std::string& what, const InterpolateArgs& a, const DataInfo& info) {
  const bool index = !what.empty() && what.find_first_not_of("0123456789") == std::string::npos;
  if (!index) return conform_images({read_image(what)}, info);
  InputArgs in;
  in.data = a.data;
  in.data.limit = std::stoll(what) + 1;
  auto images = load_inputs(in, info).images;
  DDIM_CHECK_ARG(images.size(0) > std::stoll(what), "index {} is beyond the {} examples of the {} split",
                 what, images.size(0), a.data.split);
  return images.slice(0, -1);
}

int run_interpolate(const InterpolateArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  const auto& info = d.data();
  DDIM_CHECK_ARG(info.is_image(), "interpolation pictures need an image model");
  auto ends = torch::cat({load_end(a.from, a, info), load_end(a.to, a, info)});
  const auto e = embed_images(d, a.model, ends, a.embed, a.sampler, {});
  const auto& seeds = e.seeds;
  const auto mode = interpolation_from_string(a.mode);
  auto path = interpolate_seeds(seeds[0], seeds[1], a.frames, mode);
  // A diffusion autoencoder interpolates its semantic codes linearly (Diff-AE section 5.2).
  torch::Tensor codes;
  if (e.codes.defined()) codes = interpolate_seeds(e.codes[0], e.codes[1], a.frames, Interpolation::Lerp);
  auto opts = a.sampler.sample_options(d);
  opts.eta = 0;
  auto frames = crop_padding(generate(d, path, a.sampler.grid(d), opts, a.sampler.batch, {}, codes), info);
  auto lambdas = torch::linspace(0, 1, a.frames).view({-1, 1, 1, 1});
  auto originals = crop_padding(ends, info);
  auto blend = (1 - lambdas) * originals[0] + lambdas * originals[1];
  std::vector<std::string> caps;
  for (int64_t i = 0; i < a.frames; ++i) caps.push_back(fmt::format("{:.2f}", lambdas[i].item<double>()));
  LabeledRowsOptions lo;
  lo.title = fmt::format("{} of seeds from {}, S = {} (seed paper Fig. 19)", a.mode, a.embed.describe(),
                         a.sampler.steps);
  write_png(a.out, labeled_rows({blend, seed_to_image(crop_padding(path, info)), frames},
                                {"pixel blend", "seeds", "generated"}, {caps}, lo));
  // The end frames are the reconstructions of the end images.
  auto report =
      ReconstructionReport::compute(originals, torch::cat({frames.slice(0, 0, 1), frames.slice(0, -1)}));
  std::filesystem::path stem(a.out);
  stem.replace_extension();
  nlohmann::ordered_json extra;
  extra["model"] = a.model;
  extra["from"] = a.from;
  extra["to"] = a.to;
  extra["mode"] = a.mode;
  extra["frames"] = a.frames;
  extra["method"] = a.embed.resolved_method();
  extra["steps"] = a.sampler.steps;
  // How far consecutive frames are apart, in pixel MSE: a smooth path has even steps.
  auto steps = mse_per_image(frames.slice(0, 1), frames.slice(0, 0, -1));
  extra["frame_to_frame_mse"] =
      std::vector<double>(steps.data_ptr<double>(), steps.data_ptr<double>() + steps.numel());
  write_json(stem.string() + ".json", report.to_json(extra).dump(2));
  save_tensor(stem.string() + ".pt", frames);
  spdlog::info("wrote {} (end-point MSE {:.5f}), {}.json and {}.pt", a.out, report.mean_mse(), stem.string(),
               stem.string());
  return 0;
}

}  // namespace

void setup_interpolate(CLI::App& app) {
  auto a = std::make_shared<InterpolateArgs>();
  auto* sub =
      app.add_subcommand("interpolate", "Interpolate between two images through their seeds (paper Fig. 19)");
  sub->footer(
      "\nA and B are image files or indices into --data's split (default: the model's data, test split).\n"
      "Example: ddim interpolate --model runs/q/model.pt --from 0 --to 1 --frames 9 --out strip.png");
  sub->add_option("--model", a->model, "Denoiser checkpoint")->required();
  sub->add_option("--from", a->from, "Start image (file or index)")->required();
  sub->add_option("--to", a->to, "End image (file or index)")->required();
  sub->add_option("--frames", a->frames, "Frames including both ends")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  sub->add_option("--mode", a->mode,
                  "lerp (the paper) or slerp (along the sphere, keeps seed norms; Diff-AE uses it for x_T "
                  "and lerp for z_sem)")
      ->check(CLI::IsMember({"lerp", "slerp"}))
      ->capture_default_str();
  sub->add_option("--out", a->out, "Output PNG (a .json and a .pt are written beside it)")
      ->capture_default_str();
  add_data_options(sub, a->data, "test");
  a->data.spec = "";
  sub->get_option("--data")
      ->description("Data set for index end points (default: the model's data)")
      ->default_str("");
  add_embed_options(sub, a->embed);
  add_sampler_options(sub, a->sampler, /*sampling=*/false);
  on_run(sub, [a] { return run_interpolate(*a); });
}

}  // namespace ddim::cli
