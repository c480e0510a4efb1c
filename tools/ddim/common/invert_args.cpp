#include "common/invert_args.h"

#include "common/app.h"
#include "common/options.h"

namespace ddim::cli {

void add_invert_options(CLI::App* sub, InvertArgs& a) {
  sub->add_option("--model", a.model, "Denoiser checkpoint")->required();
  sub->add_option("--out", a.out, "Output directory")->capture_default_str();
  add_input_options(sub, a.inputs);
  add_embed_options(sub, a.embed);
  add_sampler_options(sub, a.sampler, /*sampling=*/false);
  add_class_options(sub, a.klass, ", or label (each image's own label)", /*guidance=*/false);
  sub->add_option("--show", a.show, "Images in the picture")->check(kPositive)->capture_default_str();
}

EmbedInputs load_embed_inputs(const InvertArgs& a) {
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

nlohmann::ordered_json describe_embedding(const InvertArgs& a, const EmbedOptions& o, const Embedding& e) {
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

}  // namespace ddim::cli
