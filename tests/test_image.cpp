#include <stb/stb_image_write.h>  // declarations; the implementation is in libddim

#include "ddim/core/error.h"
#include "ddim/io/image.h"
#include "ddim/pictures/grid.h"
#include "ddim/pictures/plot.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {
void append(void* ctx, void* data, int size) {
  static_cast<std::vector<char>*>(ctx)->insert(static_cast<std::vector<char>*>(ctx)->end(),
                                               static_cast<char*>(data), static_cast<char*>(data) + size);
}

std::vector<char> jpeg_bytes(const torch::Tensor& image) {
  auto hwc = image.mul(255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  std::vector<char> out;
  stbi_write_jpg_to_func(append, &out, hwc.size(1), hwc.size(0), hwc.size(2), hwc.data_ptr<uint8_t>(), 95);
  return out;
}

std::vector<char> bmp_bytes(const torch::Tensor& image) {
  auto hwc = image.mul(255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  std::vector<char> out;
  stbi_write_bmp_to_func(append, &out, hwc.size(1), hwc.size(0), hwc.size(2), hwc.data_ptr<uint8_t>());
  return out;
}

torch::Tensor quantised(std::vector<int64_t> shape) {
  return torch::randint(0, 256, shape, torch::kInt64).to(torch::kFloat32) / 255.0;
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

class Image : public SeededTest {};

// A heat map is drawn, not a blank page (PLplot draws nothing before a page is advanced).
TEST_F(Image, HeatMapsAreDrawn) {
  const auto path = scratch_dir() + "/map.png";
  try {
    PlotOptions o;
    o.title = "ramp";
    plot_heatmap(path, torch::arange(6, torch::kFloat64).view({2, 3}), 0, 3, 0, 2, o);
  } catch (const Unavailable& e) {
    GTEST_SKIP() << e.what();
  }
  const auto image = read_image(path);  // [3, H, W] in [0, 1]
  const auto white = (image > 0.98).all(0);
  EXPECT_LT(white.to(torch::kFloat64).mean().item<double>(), 0.8) << "mostly blank";
  // One cell a value: the centres of the 2 x 3 cells in the plot's viewport (x 0.1-0.82,
  // y 0.12-0.9 of the page, y upwards) all differ in colour.
  const int64_t h = image.size(1), w = image.size(2);
  std::vector<torch::Tensor> centres;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) {
      const double x = 0.1 + (c + 0.5) / 3 * 0.72, y = 0.12 + (r + 0.5) / 2 * 0.78;
      centres.push_back(image.index(
          {torch::indexing::Slice(), static_cast<int64_t>((1 - y) * h), static_cast<int64_t>(x * w)}));
    }
  for (size_t i = 0; i < centres.size(); ++i)
    for (size_t j = i + 1; j < centres.size(); ++j)
      EXPECT_GT((centres[i] - centres[j]).abs().max().item<double>(), 0.02) << "cells " << i << " and " << j;
}

TEST_F(Image, PngRoundTripIsExactForEightBitValues) {
  for (int64_t c : {1, 3}) {
    auto img = quantised({c, 7, 5});
    auto png = encode_png(img);
    auto back = decode_image(std::vector<char>(png.begin(), png.end()), "mem");
    ASSERT_EQ(back.sizes(), img.sizes());
    EXPECT_TRUE(torch::equal(back, img));
  }
}

TEST_F(Image, JpegAndBmpDecode) {
  auto img = quantised({3, 16, 16});
  auto bmp = decode_image(bmp_bytes(img), "x.bmp");
  EXPECT_TRUE(torch::equal(bmp, img));
  auto smooth = torch::linspace(0, 1, 16).view({1, 1, 16}).expand({3, 16, 16}).contiguous();
  auto jpg = decode_image(jpeg_bytes(smooth), "x.jpg");
  ASSERT_EQ(jpg.sizes(), smooth.sizes());
  EXPECT_LT((jpg - smooth).abs().max().item<float>(), 0.05);
}

TEST_F(Image, CorruptPngIsRefusedWithItsName) {
  auto png = encode_png(quantised({1, 8, 8}));
  std::vector<char> bytes(png.begin(), png.end());
  bytes[bytes.size() / 2] ^= 0x5a;  // a flipped byte in the image data
  EXPECT_NE(error_of([&] { decode_image(bytes, "bad.png"); }).find("bad.png: corrupt PNG"),
            std::string::npos);
}

TEST_F(Image, TruncatedPngIsRefused) {
  auto png = encode_png(quantised({3, 16, 16}));
  std::vector<char> bytes(png.begin(), png.begin() + png.size() * 2 / 3);
  EXPECT_NE(error_of([&] { decode_image(bytes, "cut.png"); }).find("cut.png"), std::string::npos);
  std::vector<char> no_end(png.begin(), png.end() - 12);  // everything but IEND
  EXPECT_NE(error_of([&] { decode_image(no_end, "cut.png"); }).find("no IEND"), std::string::npos);
}

TEST_F(Image, TruncatedJpegIsRefused) {
  auto bytes = jpeg_bytes(quantised({3, 32, 32}));
  bytes.resize(bytes.size() - 40);
  EXPECT_NE(error_of([&] { decode_image(bytes, "cut.jpg"); }).find("cut.jpg: truncated JPEG"),
            std::string::npos);
}

TEST_F(Image, TruncatedBmpAndUnknownFormatsAreRefused) {
  auto bytes = bmp_bytes(quantised({3, 8, 8}));
  bytes.resize(bytes.size() - 10);
  EXPECT_NE(error_of([&] { decode_image(bytes, "cut.bmp"); }).find("truncated BMP"), std::string::npos);
  std::vector<char> text = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_NE(error_of([&] { decode_image(text, "x.txt"); }).find("not a PNG, JPEG or BMP"), std::string::npos);
  EXPECT_NE(error_of([&] { decode_image({}, "empty.png"); }).find("empty"), std::string::npos);
}

TEST_F(Image, ChannelConversion) {
  auto gray = quantised({1, 4, 4});
  auto rgb = convert_channels(gray, 3);
  ASSERT_EQ(rgb.size(0), 3);
  EXPECT_TRUE(torch::equal(rgb[0], gray[0]) && torch::equal(rgb[2], gray[0]));
  // BT.601 luma of pure red, green and blue.
  auto prim = torch::zeros({3, 1, 3});
  prim[0][0][0] = 1, prim[1][0][1] = 1, prim[2][0][2] = 1;
  auto luma = convert_channels(prim, 1);
  EXPECT_NEAR(luma[0][0][0].item<float>(), 0.299, 1e-6);
  EXPECT_NEAR(luma[0][0][1].item<float>(), 0.587, 1e-6);
  EXPECT_NEAR(luma[0][0][2].item<float>(), 0.114, 1e-6);
}

TEST_F(Image, GridPlacesTilesWithPadding) {
  auto batch =
      torch::stack({torch::full({1, 2, 3}, 0.1), torch::full({1, 2, 3}, 0.2), torch::full({1, 2, 3}, 0.3)});
  auto grid = make_grid(batch, 2, 1, 1.0);
  // 2 columns, 2 rows: width 1 + 2*(3+1), height 1 + 2*(2+1).
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{1, 7, 9}));
  EXPECT_FLOAT_EQ(grid[0][1][1].item<float>(), 0.1f);
  EXPECT_FLOAT_EQ(grid[0][1][5].item<float>(), 0.2f);
  EXPECT_FLOAT_EQ(grid[0][4][1].item<float>(), 0.3f);
  EXPECT_FLOAT_EQ(grid[0][4][5].item<float>(), 1.0f);  // the empty fourth tile is padding
  EXPECT_FLOAT_EQ(grid[0][0][0].item<float>(), 1.0f);
}

TEST_F(Image, SeedPictureClipsAtTwoAndAHalfSigma) {
  auto seed = torch::tensor({-5.0f, -2.5f, 0.0f, 1.25f, 2.5f, 9.0f});
  auto img = seed_to_image(seed);
  auto expect = torch::tensor({0.0f, 0.0f, 0.5f, 0.75f, 1.0f, 1.0f});
  EXPECT_TRUE(torch::allclose(img, expect));
}

TEST_F(Image, ResizeAveragesWhenShrinking) {
  auto img = torch::tensor({0.f, 1.f, 0.f, 1.f}).view({1, 1, 4}).expand({1, 4, 4}).contiguous();
  auto small = resize_image(img, 2, 2);
  EXPECT_TRUE(torch::allclose(small, torch::full({1, 2, 2}, 0.5)));
  auto crop = center_crop(torch::arange(25.0).view({1, 5, 5}), 3);
  EXPECT_FLOAT_EQ(crop[0][0][0].item<float>(), 6.0f);
}
