#include "ddim/pictures/grid.h"

#include <fmt/format.h>

#include <algorithm>

#include "ddim/core/error.h"
#include "ddim/io/image.h"

namespace ddim {

torch::Tensor make_grid(const torch::Tensor& images, int64_t columns, int64_t padding, double pad_value) {
  DDIM_CHECK_ARG(images.dim() == 4, "a grid needs a batch [N, C, H, W], got {}",
                 fmt::join(images.sizes(), "x"));
  DDIM_CHECK_ARG(columns > 0 && padding >= 0, "grid columns must be positive");
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t cols = std::min(columns, std::max<int64_t>(n, 1));
  const int64_t rows = (n + cols - 1) / cols;
  auto grid = torch::full({c, rows * (h + padding) + padding, cols * (w + padding) + padding}, pad_value,
                          images.options().dtype(torch::kFloat32));
  auto src = images.detach().to(torch::kFloat32);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / cols, col = i % cols;
    grid.narrow(1, padding + r * (h + padding), h).narrow(2, padding + col * (w + padding), w).copy_(src[i]);
  }
  return grid;
}

torch::Tensor make_rows(const std::vector<torch::Tensor>& rows, int64_t padding, double pad_value) {
  DDIM_CHECK_ARG(!rows.empty(), "make_rows needs at least one row");
  std::vector<torch::Tensor> parts;
  int64_t channels = 1;
  for (const auto& r : rows) channels = std::max(channels, r.size(1));
  for (const auto& r : rows) {
    DDIM_CHECK_ARG(r.dim() == 4 && r.size(0) == rows[0].size(0) && r.size(2) == rows[0].size(2) &&
                       r.size(3) == rows[0].size(3),
                   "rows of a picture must have equal shapes");
    parts.push_back(convert_channels(r.detach().to(torch::kFloat32), channels));
  }
  return make_grid(torch::cat(parts, 0), rows[0].size(0), padding, pad_value);
}

torch::Tensor seed_to_image(const torch::Tensor& seed) {
  return (seed.detach().to(torch::kFloat32).clamp(-2.5, 2.5) + 2.5) / 5.0;
}

}  // namespace ddim
