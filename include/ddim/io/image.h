// Images: decoding, encoding and conversion (the pictures ddim draws from them, grids and
// seeds, are ddim/pictures/grid.h's).
//
// An image is a float tensor [C, H, W] with values in [0, 1] and C = 1 (grayscale) or 3 (RGB);
// a batch is [N, C, H, W]. Decoding accepts PNG, JPEG and BMP (8-bit); an alpha channel is
// dropped. Channel conversion: gray -> RGB repeats the channel; RGB -> gray uses the ITU-R
// BT.601 luma weights 0.299 R + 0.587 G + 0.114 B.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ddim {

/// Reads a PNG/JPEG/BMP file into [C, H, W] in [0, 1]. Throws ddim::Error naming the path
/// when the file is missing, truncated or corrupt (PNG chunk CRCs are verified; a JPEG
/// must end its last scan with an end-of-image marker).
torch::Tensor read_image(const std::string& path);

/// Decodes image bytes; `what` names the source in error messages. The size in the header is
/// checked against input_limits().max_image_pixels before anything is allocated
/// (ddim::InvalidArgument naming `what` and the limit).
torch::Tensor decode_image(const std::vector<char>& bytes, const std::string& what);

/// Throws ddim::InvalidArgument naming `what` unless height x width is positive and within
/// input_limits().max_image_pixels.
void check_image_size(int64_t height, int64_t width, const std::string& what);

/// Encodes [C, H, W] (values clamped to [0, 1], C = 1 or 3) as PNG bytes.
std::string encode_png(const torch::Tensor& image);

/// Writes [C, H, W] as a PNG file, atomically.
void write_png(const std::string& path, const torch::Tensor& image);

/// Converts [.., C, H, W] to `channels` (1 or 3) channels, as described above.
torch::Tensor convert_channels(const torch::Tensor& image, int64_t channels);

/// Crops the central size x size square of [.., H, W]; size <= min(H, W).
torch::Tensor center_crop(const torch::Tensor& image, int64_t size);

/// Resizes [C, H, W] or [N, C, H, W]: area averaging when shrinking (no aliasing),
/// bilinear interpolation when enlarging.
torch::Tensor resize_image(const torch::Tensor& image, int64_t height, int64_t width);

}  // namespace ddim
