// How the embedding commands (invert, reconstruct, interpolate, ...) map images to seeds.
#pragma once

#include "common.h"
#include "ddim/ddim.h"
#include "ddim/denoiser.h"
#include "ddim/pipeline.h"
#include "sampling_args.h"

namespace ddim::cli {

struct EmbedArgs {
  std::string method = "ddim";
  std::string label = "target";
  int64_t iters = 3;
  bool average = false;

  InvertOptions invert_options() const {
    InvertOptions o;
    o.method = inversion_method_from_string(method);
    o.label = eps_label_from_string(label);
    o.iterations = iters;
    o.average = average;
    return o;
  }
  std::string describe() const {
    return method == "fixed-point"
               ? fmt::format("fixed-point inversion (K = {}{})", iters, average ? ", averaged" : "")
               : fmt::format("DDIM inversion (eps labelled with the {} time)", label);
  }
};

inline void add_embed_options(CLI::App* sub, EmbedArgs& a) {
  sub->add_option("--method", a.method, "ddim (plain DDIM inversion) or fixed-point (Meiri et al. 2023)")
      ->check(CLI::IsMember({"ddim", "fixed-point"}))
      ->capture_default_str();
  sub->add_option("--label", a.label,
                  "Plain inversion: time label of the eps call, target (the time it solves for) or current")
      ->check(CLI::IsMember({"target", "current"}))
      ->capture_default_str();
  sub->add_option("--iters", a.iters, "Fixed-point iterations K per step")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--average", a.average, "Fixed point: average the iterates' eps (ReNoise)");
}

/// Images in [0, 1] (model shape) -> seeds, by the chosen method.
inline torch::Tensor embed_images(const Denoiser& d, const torch::Tensor& images, const EmbedArgs& e,
                                  const SamplerArgs& s, const ProgressFn& progress) {
  return invert(d, images, s.grid(d), e.invert_options(), s.batch, progress);
}

}  // namespace ddim::cli
