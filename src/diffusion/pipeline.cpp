#include "ddim/diffusion/pipeline.h"

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/rng.h"
#include "ddim/io/image.h"

namespace ddim {

torch::Tensor random_seeds(const DataInfo& data, int64_t n, uint64_t seed) {
  auto gen = make_generator(seed);
  std::vector<int64_t> shape = {n};
  shape.insert(shape.end(), data.shape.begin(), data.shape.end());
  return randn(shape, gen);
}
namespace {
// One batch: rows [begin, end) of the input on the denoiser's device, with their condition,
// to the CPU result.
using BatchFn = std::function<torch::Tensor(const torch::Tensor& rows, const EpsFn& eps)>;

// The loop that generate() and invert() share: `input` [N, ...] in batches of `batch` rows
// on the denoiser's device, without gradients, each batch's eps conditioned on its rows of
// `cond`; stops between batches on an interrupt; results concatenated on the CPU.
torch::Tensor in_batches(const Denoiser& d, const torch::Tensor& input, int64_t batch, const Condition& cond,
                         const ProgressFn& progress, const BatchFn& run) {
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  torch::NoGradGuard no_grad;
  const auto device = d.device();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < input.size(0); i += batch) {
    throw_if_interrupted();
    const int64_t end = std::min(input.size(0), i + batch);
    auto c = cond.slice(i, end);
    if (c.vectors.defined()) c.vectors = c.vectors.to(device);
    out.push_back(run(input.slice(0, i, end).to(device), d.eps_fn(c)).to(torch::kCPU));
    if (progress) progress(end);
  }
  return torch::cat(out);
}
}  // namespace

torch::Tensor generate(const Denoiser& d, const torch::Tensor& seeds, const TimeGrid& grid,
                       const SampleOptions& o, int64_t batch, const ProgressFn& progress,
                       const Condition& cond) {
  DDIM_CHECK_ARG(seeds.size(0) > 0, "no seeds to generate from");
  return in_batches(d, seeds, batch, cond, progress, [&](const torch::Tensor& x_t, const EpsFn& eps) {
    return d.to_data(ddim_sample(eps, x_t, grid, o).x);
  });
}

torch::Tensor invert(const Denoiser& d, const torch::Tensor& data, const TimeGrid& grid,
                     const InvertOptions& o, int64_t batch, const ProgressFn& progress,
                     const Condition& cond) {
  DDIM_CHECK_ARG(data.size(0) > 0, "no data to invert");
  return in_batches(d, data, batch, cond, progress, [&](const torch::Tensor& x, const EpsFn& eps) {
    return ddim_invert(eps, d.standardize(x), grid, o).x;
  });
}

torch::Tensor conform_images(const std::vector<torch::Tensor>& images, const DataInfo& m) {
  DDIM_CHECK_ARG(m.is_image(), "this model works on points, not images");
  DDIM_CHECK_ARG(!images.empty(), "no images to fit to the model");
  const int64_t c = m.shape[0], h = m.shape[1], w = m.shape[2];
  const int64_t h0 = h - m.padding.top - m.padding.bottom, w0 = w - m.padding.left - m.padding.right;
  std::vector<torch::Tensor> out;
  for (const auto& img : images) {
    auto x = convert_channels(img, c);
    if (x.size(1) == h && x.size(2) == w) {
      out.push_back(x);
      continue;
    }
    if (x.size(1) != h0 || x.size(2) != w0) {
      const int64_t side = std::min(x.size(1), x.size(2));
      x = resize_image(center_crop(x, side), h0, w0);
    }
    out.push_back(
        torch::constant_pad_nd(x, {m.padding.left, m.padding.right, m.padding.top, m.padding.bottom}, 0));
  }
  return torch::stack(out);
}

}  // namespace ddim
