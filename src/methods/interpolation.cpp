#include "ddim/methods/interpolation.h"

#include <cmath>

#include "ddim/core/error.h"
#include "ddim/diffusion/pipeline.h"

namespace ddim {

template <>
const NameTable<Interpolation>& name_table<Interpolation>() {
  static const NameTable<Interpolation> table{
      "interpolation", {{Interpolation::Lerp, "lerp"}, {Interpolation::Slerp, "slerp"}}};
  return table;
}

torch::Tensor interpolate_seed(const torch::Tensor& a, const torch::Tensor& b, double l, Interpolation mode) {
  DDIM_CHECK_ARG(a.sizes() == b.sizes(), "cannot interpolate between shapes {} and {}",
                 fmt::join(a.sizes(), "x"), fmt::join(b.sizes(), "x"));
  if (mode == Interpolation::Slerp) {
    const double na = a.norm().item<double>(), nb = b.norm().item<double>();
    const double cos = std::clamp((a * b).sum().item<double>() / std::max(na * nb, 1e-30), -1.0, 1.0);
    const double w = std::acos(cos);
    if (std::sin(w) > 1e-6) return (std::sin((1 - l) * w) * a + std::sin(l * w) * b) / std::sin(w);
  }
  return (1 - l) * a + l * b;
}

torch::Tensor interpolate_seeds(const torch::Tensor& a, const torch::Tensor& b, int64_t frames,
                                Interpolation mode) {
  DDIM_CHECK_ARG(frames >= 2, "interpolation needs at least 2 frames, got {}", frames);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < frames; ++i)
    out.push_back(interpolate_seed(a, b, static_cast<double>(i) / static_cast<double>(frames - 1), mode));
  return torch::stack(out);
}

ImageInterpolation interpolate_images(const Denoiser& d, const torch::Tensor& ends, int64_t frames,
                                      Interpolation mode, const EmbedOptions& o, Embedder* embedder) {
  DDIM_CHECK_ARG(d.data().is_image(), "interpolating images needs an image model");
  DDIM_CHECK_ARG(ends.dim() == 4 && ends.size(0) == 2,
                 "interpolation needs two end images [2, C, H, W], got {}", fmt::join(ends.sizes(), "x"));
  const auto e = embed_images(d, ends, o, embedder);
  ImageInterpolation r;
  r.seeds = interpolate_seeds(e.seeds[0], e.seeds[1], frames, mode);
  if (e.codes.defined()) r.codes = interpolate_seeds(e.codes[0], e.codes[1], frames, Interpolation::Lerp);
  const auto& info = d.data();
  r.frames = info.crop(generate(d, r.seeds, o.grid(d.schedule()), SampleOptions{}, o.batch, {}, r.codes));
  const auto lambdas = torch::linspace(0, 1, frames).view({-1, 1, 1, 1});
  const auto originals = info.crop(ends);
  r.blend = (1 - lambdas) * originals[0] + lambdas * originals[1];
  // The end frames are the reconstructions of the end images.
  r.ends =
      ReconstructionReport::compute(originals, torch::cat({r.frames.slice(0, 0, 1), r.frames.slice(0, -1)}));
  r.frame_to_frame_mse = mse_per_image(r.frames.slice(0, 1), r.frames.slice(0, 0, -1));
  return r;
}

}  // namespace ddim
