// `ddim interpolate`: the paper's Fig. 19. Embed two images, interpolate their seeds, and
// generate: rows are the pixel-space blend, the interpolated seeds, and the generated images.
#include <filesystem>

#include "commands.h"
#include "common/common.h"
#include "common/embed_args.h"
#include "common/inputs.h"
#include "common/sampling_args.h"
#include "ddim/core/error.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/attribute_swap.h"
#include "ddim/methods/interpolation.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"

namespace ddim::cli {
namespace {

struct InterpolateArgs {
  std::string model, from, to, out = "interpolation.png";
  std::string attribute;  // a DiffuseGAE: interpolate this part of z_dis only
  Interpolation mode = Interpolation::Lerp;
  int64_t frames = 9;
  DataSource data;
  SamplerArgs sampler;
  EmbedArgs embed;
};

// An end point: an image file, or an index into the data split.
torch::Tensor load_end(const std::string& what, const InterpolateArgs& a, const DataInfo& info) {
  const bool index =
      !what.empty() && what.size() < 10 && what.find_first_not_of("0123456789") == std::string::npos;
  if (!index) return conform_images({read_image(what)}, info);
  InputArgs in;
  in.data = a.data;
  in.data.options.limit = std::stoll(what) + 1;
  auto images = load_inputs(in, info).images;
  DDIM_CHECK_ARG(images.size(0) > std::stoll(what), "index {} is beyond the {} examples of the {} split",
                 what, images.size(0), to_string(a.data.options.split));
  return images.slice(0, -1);
}

// One attribute's part of a DiffuseGAE's z_dis, the rest of A's code and A's x_T kept.
ImageInterpolation interpolate_part(const Checkpoint& ck, const InterpolateArgs& a, const torch::Tensor& ends,
                                    const EmbedOptions& options, const torch::Device& device) {
  DDIM_CHECK_ARG(ck.kind() == "gae",
                 "interpolating one attribute needs a DiffuseGAE model (ddim train-gae); {} is a {}", a.model,
                 ck.kind());
  auto m = gae_from_checkpoint(ck, a.model, a.sampler.weights);
  m.denoiser.to(device);
  m.denoiser.set_mixed_precision(a.sampler.bf16);
  SwapOptions o;
  o.embedding = options;
  return interpolate_attribute(PartitionedModel(m), ends, a.frames, a.attribute, o);
}

int run_interpolate(const InterpolateArgs& a) {
  const auto device = init_runtime();
  const auto ck = load_checkpoint(a.model);
  auto d = load_model(ck, a.model, a.sampler, device);
  const auto& info = d.data();
  DDIM_CHECK_ARG(info.is_image(), "interpolation pictures need an image model");
  const auto options = a.embed.resolved(a.sampler);
  options.validate(d);
  const auto embedder = a.embed.load_network(ck, a.model, device);
  const auto ends = torch::cat({load_end(a.from, a, info), load_end(a.to, a, info)});
  const auto r = a.attribute.empty() ? interpolate_images(d, ends, a.frames, a.mode, options, embedder.get())
                                     : interpolate_part(ck, a, ends, options, device);
  std::vector<std::string> caps;
  for (int64_t i = 0; i < a.frames; ++i)
    caps.push_back(fmt::format("{:.2f}", double(i) / double(a.frames - 1)));
  LabeledRowsOptions lo;
  lo.title = a.attribute.empty() ? fmt::format("{} of seeds from {}, S = {} (seed paper Fig. 19)",
                                               to_string(a.mode), options.describe(), options.steps)
                                 : fmt::format(
                                       "the '{}' part of z_dis moved from A's to B's; A's x_T, S = {} "
                                       "(DiffuseGAE Fig. 9)",
                                       a.attribute, options.steps);
  write_png(a.out, labeled_rows({r.blend, seed_to_image(info.crop(r.seeds)), r.frames},
                                {"pixel blend", "seeds", "generated"}, {caps}, lo));
  std::filesystem::path stem(a.out);
  stem.replace_extension();
  nlohmann::ordered_json extra;
  extra["model"] = a.model;
  extra["from"] = a.from;
  extra["to"] = a.to;
  extra["mode"] = to_string(a.mode);
  if (!a.attribute.empty()) extra["attribute"] = a.attribute;
  extra["frames"] = a.frames;
  extra["method"] = to_string(options.method);
  extra["steps"] = options.steps;
  extra["frame_to_frame_mse"] = to_vector(r.frame_to_frame_mse);
  write_json(stem.string() + ".json", r.ends.to_json(extra));
  save_tensor(stem.string() + ".pt", r.frames);
  spdlog::info("wrote {} (end-point MSE {:.5f}), {}.json and {}.pt", a.out, r.ends.mean_mse(), stem.string(),
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
  add_enum_option(sub, "--mode", a->mode,
                  "lerp (the paper) or slerp (along the sphere, keeps seed norms; Diff-AE uses it for x_T "
                  "and lerp for z_sem)");
  sub->add_option(
      "--attribute", a->attribute,
      "A DiffuseGAE: move only this attribute's part of z_dis from A's to B's, from A's x_T (Fig. 9)");
  sub->add_option("--out", a->out, "Output PNG (a .json and a .pt are written beside it)")
      ->capture_default_str();
  add_data_options(sub, a->data, Split::Test);
  a->data.spec = "";
  sub->get_option("--data")
      ->description("Data set for index end points (default: the model's data)")
      ->default_str("");
  add_embed_options(sub, a->embed);
  add_sampler_options(sub, a->sampler, /*sampling=*/false);
  on_run(sub, [a] { return run_interpolate(*a); });
}

}  // namespace ddim::cli
