#include "embed_args.h"

#include "ddim/error.h"
#include "ddim/rng.h"

namespace ddim::cli {

InvertOptions EmbedArgs::invert_options() const {
  InvertOptions o;
  o.method = inversion_method_from_string(method);
  o.label = eps_label_from_string(label);
  o.iterations = iters;
  o.average = average;
  return o;
}

std::string EmbedArgs::describe() const {
  std::string s;
  if (method == "fixed-point")
    s = fmt::format("fixed-point inversion (K = {}{})", iters, average ? ", averaged" : "");
  else if (resolved_method() == "embedder")
    s = "embedding network";
  else
    s = fmt::format("DDIM inversion (eps labelled with the {} time)", label);
  if (refine > 0) s += fmt::format(" + {} gradient steps", refine);
  return s;
}

void add_embed_options(CLI::App* sub, EmbedArgs& a, bool with_refine) {
  sub->add_option(
         "--method", a.method,
         "ddim (plain DDIM inversion), fixed-point (Meiri et al. 2023) or embedder (a trained network)")
      ->check(CLI::IsMember({"ddim", "fixed-point", "embedder"}))
      ->capture_default_str();
  sub->add_option("--label", a.label,
                  "Plain inversion: time label of the eps call, target (the time it solves for) or current")
      ->check(CLI::IsMember({"target", "current"}))
      ->capture_default_str();
  sub->add_option("--iters", a.iters, "Fixed-point iterations K per step")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--average", a.average, "Fixed point: average the iterates' eps (ReNoise)");
  sub->add_option("--embedder", a.embedder, "Embedder checkpoint (implies --method embedder)");
  sub->add_flag("--force", a.force, "Use an embedder trained against another denoiser");
  if (with_refine) {
    sub->add_option("--refine", a.refine,
                    "Refine the seeds with N gradient-descent iterations (paper Fig. 18)")
        ->check(kNonNegative)
        ->capture_default_str();
    sub->add_option("--refine-lr", a.refine_lr, "Adam learning rate of the refinement")
        ->check(kPositive)
        ->capture_default_str();
  }
}

torch::Tensor semantic_codes(const Denoiser& d, const torch::Tensor& images, int64_t batch) {
  if (d.network().cond_dim() == 0) return {};
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    auto x = d.standardize(images.slice(0, i, std::min(images.size(0), i + batch)).to(d.device()));
    out.push_back(d.network().condition(x).to(torch::kCPU));
  }
  return torch::cat(out);
}

Embedding embed_images(const Denoiser& d, const std::string& model_path, const torch::Tensor& images,
                       const EmbedArgs& e, const SamplerArgs& s, const ProgressFn& progress) {
  const auto codes = semantic_codes(d, images, s.batch);
  DDIM_CHECK_ARG(
      !codes.defined() || (e.resolved_method() != "embedder" && e.refine == 0),
      "{} is a diffusion autoencoder: its images are embedded by its semantic encoder and inversion "
      "conditioned on the code (--method ddim or fixed-point), not by embedders or refinement",
      model_path);
  torch::Tensor seeds;
  // --embedder alone implies --method embedder.
  if (e.resolved_method() == "embedder") {
    DDIM_CHECK_ARG(!e.embedder.empty(), "--method embedder needs --embedder FILE");
    const auto denoiser_ck = load_checkpoint(model_path);
    const auto loaded = load_embedder(e.embedder, &denoiser_ck, model_path, e.force);
    loaded.network->to(d.device());
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < images.size(0); i += s.batch) {
      const int64_t end = std::min(images.size(0), i + s.batch);
      out.push_back(loaded.network->forward(images.slice(0, i, end).to(d.device())).to(torch::kCPU));
      if (progress) progress(end);
    }
    seeds = torch::cat(out);
  } else {
    DDIM_CHECK_ARG(e.embedder.empty(), "--embedder cannot be combined with --method {}", e.method);
    seeds = invert(d, images, s.grid(d), e.invert_options(), s.batch, progress, codes);
  }
  return {e.refine > 0 ? refine_seeds(d, images, seeds, e, s) : seeds, codes};
}

torch::Tensor refine_seeds(const Denoiser& d, const torch::Tensor& images, const torch::Tensor& seeds,
                           const EmbedArgs& e, const SamplerArgs& s) {
  // Gradient descent from these seeds, one seed per image (seed paper Fig. 18).
  SynthesisOptions o;
  o.steps = s.steps;
  o.iterations = e.refine;
  o.lr = e.refine_lr;
  o.batch = s.batch;
  auto gen = make_generator(global_options().seed);
  return synthesize_seeds(d, images, 1, seeds.unsqueeze(1), o, gen).seeds.squeeze(1);
}

}  // namespace ddim::cli
