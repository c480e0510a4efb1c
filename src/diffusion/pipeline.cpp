#include "ddim/diffusion/pipeline.h"

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/io/image.h"

namespace ddim {
namespace {
// Rows [begin, end) of the condition, on `device`.
Condition condition_on(const Condition& c, int64_t begin, int64_t end, const torch::Device& device) {
  auto s = c.slice(begin, end);
  if (s.vectors.defined()) s.vectors = s.vectors.to(device);
  return s;
}
}  // namespace

torch::Tensor generate(const Denoiser& d, const torch::Tensor& seeds, const TimeGrid& grid,
                       const SampleOptions& o, int64_t batch, const ProgressFn& progress,
                       const Condition& cond) {
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  DDIM_CHECK_ARG(seeds.size(0) > 0, "no seeds to generate from");
  torch::NoGradGuard no_grad;
  const auto device = d.device();
  std::vector<torch::Tensor> out;
  DDIM_CHECK_ARG(seeds.size(0) > 0, "no seeds to generate from");
  for (int64_t i = 0; i < seeds.size(0); i += batch) {
    throw_if_interrupted();
    const int64_t end = std::min(seeds.size(0), i + batch);
    auto x =
        ddim_sample(d.eps_fn(condition_on(cond, i, end, device)), seeds.slice(0, i, end).to(device), grid, o)
            .x;
    out.push_back(d.to_data(x).to(torch::kCPU));
    if (progress) progress(end);
  }
  return torch::cat(out);
}

torch::Tensor invert(const Denoiser& d, const torch::Tensor& data, const TimeGrid& grid,
                     const InvertOptions& o, int64_t batch, const ProgressFn& progress,
                     const Condition& cond) {
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  DDIM_CHECK_ARG(data.size(0) > 0, "no data to invert");
  torch::NoGradGuard no_grad;
  const auto device = d.device();
  std::vector<torch::Tensor> out;
  DDIM_CHECK_ARG(data.size(0) > 0, "no data to invert");
  for (int64_t i = 0; i < data.size(0); i += batch) {
    throw_if_interrupted();
    const int64_t end = std::min(data.size(0), i + batch);
    auto x0 = d.standardize(data.slice(0, i, end).to(device));
    out.push_back(ddim_invert(d.eps_fn(condition_on(cond, i, end, device)), x0, grid, o).x.to(torch::kCPU));
    if (progress) progress(end);
  }
  return torch::cat(out);
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
