#include "ddim/pictures/annotate.h"

#include <stb/stb_easy_font.h>

#include "ddim/core/error.h"
#include "ddim/io/image.h"

namespace ddim {

namespace {
struct Vertex {
  float x, y, z;
  unsigned char color[4];
};
}  // namespace

int64_t text_width(const std::string& text, int64_t scale) {
  std::string copy = text;
  return static_cast<int64_t>(stb_easy_font_width(copy.data())) * scale;
}

int64_t text_height(int64_t scale) { return 12 * scale; }

void draw_text(torch::Tensor& image, int64_t x, int64_t y, const std::string& text, double value,
               int64_t scale) {
  DDIM_CHECK_ARG(image.dim() == 3, "draw_text needs an image [C, H, W]");
  if (text.empty()) return;
  std::string copy = text;
  std::vector<Vertex> vertices(copy.size() * 300 / sizeof(Vertex) * 4 + 64);
  const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, vertices.data(),
                                        static_cast<int>(vertices.size() * sizeof(Vertex)));
  const int64_t h = image.size(1), w = image.size(2);
  for (int q = 0; q < quads; ++q) {
    const Vertex* v = &vertices[4 * q];
    // Quads are axis-aligned rectangles: corners 0 and 2 are opposite.
    const int64_t x0 = x + static_cast<int64_t>(std::min(v[0].x, v[2].x)) * scale;
    const int64_t x1 = x + static_cast<int64_t>(std::max(v[0].x, v[2].x)) * scale;
    const int64_t y0 = y + static_cast<int64_t>(std::min(v[0].y, v[2].y)) * scale;
    const int64_t y1 = y + static_cast<int64_t>(std::max(v[0].y, v[2].y)) * scale;
    const int64_t cx0 = std::clamp<int64_t>(x0, 0, w), cx1 = std::clamp<int64_t>(x1, 0, w);
    const int64_t cy0 = std::clamp<int64_t>(y0, 0, h), cy1 = std::clamp<int64_t>(y1, 0, h);
    if (cx1 > cx0 && cy1 > cy0) image.narrow(1, cy0, cy1 - cy0).narrow(2, cx0, cx1 - cx0).fill_(value);
  }
}

torch::Tensor labeled_rows(const std::vector<torch::Tensor>& rows, const std::vector<std::string>& row_labels,
                           const std::vector<std::vector<std::string>>& captions,
                           const LabeledRowsOptions& o) {
  DDIM_CHECK_ARG(!rows.empty(), "a labelled picture needs at least one row");
  DDIM_CHECK_ARG(o.zoom > 0 && o.padding >= 0 && o.text_scale > 0, "bad picture options");
  int64_t channels = 1, columns = 0;
  const int64_t ih = rows[0].size(2), iw = rows[0].size(3);
  for (const auto& r : rows) {
    DDIM_CHECK_ARG(r.dim() == 4 && r.size(2) == ih && r.size(3) == iw, "rows must hold images of one size");
    channels = std::max(channels, r.size(1));
    columns = std::max(columns, r.size(0));
  }
  const int64_t th = text_height(o.text_scale);
  int64_t label_w = 0;
  for (const auto& l : row_labels) label_w = std::max(label_w, text_width(l, o.text_scale));
  if (label_w > 0) label_w += 2 * o.padding;
  bool any_caption = false;
  for (const auto& c : captions)
    for (const auto& s : c) any_caption = any_caption || !s.empty();
  const int64_t cell_w = iw * o.zoom, cell_h = ih * o.zoom;
  const int64_t caption_h = any_caption ? th : 0;
  const int64_t row_h = caption_h + cell_h + o.padding;
  const int64_t title_h = o.title.empty() ? 0 : th + o.padding;
  const int64_t width = std::max(label_w + o.padding + columns * (cell_w + o.padding),
                                 2 * o.padding + text_width(o.title, o.text_scale));
  const int64_t height = title_h + o.padding + static_cast<int64_t>(rows.size()) * row_h;
  auto canvas = torch::ones({channels, height, width});
  if (!o.title.empty()) draw_text(canvas, o.padding, o.padding, o.title, 0.0, o.text_scale);
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t top = title_h + o.padding + static_cast<int64_t>(r) * row_h;
    if (r < row_labels.size())
      draw_text(canvas, o.padding, top + caption_h + (cell_h - th) / 2, row_labels[r], 0.0, o.text_scale);
    auto images = convert_channels(rows[r].detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1), channels);
    if (o.zoom > 1) images = images.repeat_interleave(o.zoom, 2).repeat_interleave(o.zoom, 3);
    for (int64_t i = 0; i < images.size(0); ++i) {
      const int64_t left = label_w + o.padding + i * (cell_w + o.padding);
      canvas.narrow(1, top + caption_h, cell_h).narrow(2, left, cell_w).copy_(images[i]);
      if (r < captions.size() && static_cast<size_t>(i) < captions[r].size()) {
        const auto& c = captions[r][i];
        const int64_t tw = text_width(c, o.text_scale);
        draw_text(canvas, left + std::max<int64_t>(0, (cell_w - tw) / 2), top + 1, c, 0.0, o.text_scale);
      }
    }
  }
  return canvas;
}

}  // namespace ddim
