// Labelled pictures: the paper's figures put a label beside each row (originals / seeds /
// reconstructions) and often a caption above each image (alpha_t, an MSE, a factor). Text is
// drawn with stb_easy_font's bitmap glyphs, so pictures need no font files.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ddim {

/// Width and height in pixels of `text` drawn at `scale` (pixels per glyph unit).
int64_t text_width(const std::string& text, int64_t scale = 1);
int64_t text_height(int64_t scale = 1);

/// Draws ASCII `text` into `image` [C, H, W] with its top-left corner at (x, y), in grey level
/// `value` (0 black, 1 white) on every channel. Glyphs outside the image are clipped.
void draw_text(torch::Tensor& image, int64_t x, int64_t y, const std::string& text, double value = 0.0,
               int64_t scale = 1);

struct LabeledRowsOptions {
  int64_t zoom = 2;        ///< nearest-neighbour enlargement of every image
  int64_t padding = 4;     ///< pixels between images
  int64_t text_scale = 1;  ///< glyph scale
  std::string title;       ///< a line above everything (optional)
};

/// One picture from rows of images (each [N_r, C, H, W] in [0, 1], all images the same size),
/// with `row_labels[r]` left of row r and, when given, `captions[r][i]` above image i of row r.
/// White background, black text; gray images are shown as RGB if any row is RGB.
torch::Tensor labeled_rows(const std::vector<torch::Tensor>& rows, const std::vector<std::string>& row_labels,
                           const std::vector<std::vector<std::string>>& captions = {},
                           const LabeledRowsOptions& options = {});

}  // namespace ddim
