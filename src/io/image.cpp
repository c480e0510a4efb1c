#include "ddim/io/image.h"

#include <zlib.h>

#include <cstring>
#include <limits>
#include <memory>

#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/limits.h"

// The stb implementations live in this translation unit only.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

namespace ddim {
namespace {

bool starts_with(const std::vector<char>& b, const char* magic, size_t n) {
  return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
}

uint32_t read_be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// stb_image does not verify PNG checksums and decodes some truncated files without
// complaint, so walk the chunk list: every chunk must fit in the file, carry a correct
// CRC-32, and the list must end with IEND.
void verify_png(const std::vector<char>& bytes, const std::string& what) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t pos = 8;
  bool ended = false;
  while (pos + 12 <= bytes.size()) {
    const uint32_t length = read_be32(p + pos);
    DDIM_CHECK(length <= bytes.size() - pos - 12,
               "{}: corrupt or truncated PNG (chunk at byte {} runs past the end of the file)", what, pos);
    const uint32_t stored = read_be32(p + pos + 8 + length);
    const uint32_t crc = static_cast<uint32_t>(::crc32(0L, p + pos + 4, length + 4));
    DDIM_CHECK(crc == stored, "{}: corrupt PNG (checksum mismatch in the '{}' chunk at byte {})", what,
               printable(std::string_view(reinterpret_cast<const char*>(p + pos + 4), 4)), pos);
    if (std::memcmp(p + pos + 4, "IEND", 4) == 0) {
      ended = true;
      break;
    }
    pos += 12 + length;
  }
  DDIM_CHECK(ended, "{}: truncated PNG (no IEND chunk)", what);
}

// Walks a JPEG's marker segments as a decoder does and checks what Debian's stb_image (a 2022
// snapshot) trusts: the 16 code counts of a Huffman table may sum past the 256 symbols its
// tables hold, and it writes them all (found by tests/fuzz/fuzz_image).
void verify_jpeg_segments(const unsigned char* p, size_t n, const std::string& what) {
  auto be16 = [&](size_t at) { return static_cast<size_t>((p[at] << 8) | p[at + 1]); };
  size_t i = 2;  // after SOI
  while (i + 1 < n) {
    DDIM_CHECK(p[i] == 0xFF, "{}: corrupt JPEG (no marker at byte {})", what, i);
    while (i + 1 < n && p[i + 1] == 0xFF) ++i;  // fill bytes
    if (i + 1 >= n) break;
    const unsigned char marker = p[i + 1];
    if (marker == 0xD9) return;  // EOI
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      i += 2;  // markers without a length
      continue;
    }
    DDIM_CHECK(i + 4 <= n, "{}: truncated JPEG (a marker at byte {} has no length)", what, i);
    const size_t length = be16(i + 2);
    DDIM_CHECK(length >= 2 && i + 2 + length <= n,
               "{}: corrupt JPEG (the segment at byte {} runs past the file)", what, i);
    if (marker == 0xC4) {  // DHT: tables of (class and id, 16 counts, the symbols)
      for (size_t t = i + 4, end = i + 2 + length; t < end;) {
        DDIM_CHECK(end - t >= 17, "{}: corrupt JPEG (a Huffman table at byte {} is cut short)", what, t);
        size_t codes = 0;
        for (size_t k = 1; k <= 16; ++k) codes += p[t + k];
        DDIM_CHECK(codes <= 256 && end - t - 17 >= codes,
                   "{}: corrupt JPEG (a Huffman table at byte {} declares {} codes)", what, t, codes);
        t += 17 + codes;
      }
    }
    i += 2 + length;
    if (marker == 0xDA) {
      // Entropy-coded data: FF is followed by 00 (a stuffed byte) or a restart marker.
      while (i + 1 < n && !(p[i] == 0xFF && p[i + 1] != 0x00 && !(p[i + 1] >= 0xD0 && p[i + 1] <= 0xD7))) ++i;
    }
  }
}

// A JPEG's entropy-coded data cannot contain the byte pair FF D9 (FF is byte-stuffed), so a
// file cut short has no end-of-image marker after its last start-of-scan marker.
void verify_jpeg(const std::vector<char>& bytes, const std::string& what) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t last_sos = 0;
  for (size_t i = 2; i + 1 < bytes.size(); ++i)
    if (p[i] == 0xFF && p[i + 1] == 0xDA) last_sos = i;
  DDIM_CHECK(last_sos > 0, "{}: corrupt or truncated JPEG (no image data)", what);
  bool eoi = false;
  for (size_t i = last_sos + 2; i + 1 < bytes.size(); ++i)
    if (p[i] == 0xFF && p[i + 1] == 0xD9) {
      eoi = true;
      break;
    }
  DDIM_CHECK(eoi, "{}: truncated JPEG (no end-of-image marker after the last scan)", what);
  verify_jpeg_segments(p, bytes.size(), what);
}

void verify_bmp(const std::vector<char>& bytes, const std::string& what) {
  DDIM_CHECK(bytes.size() >= 54, "{}: truncated BMP header", what);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint32_t declared =
      uint32_t(p[2]) | (uint32_t(p[3]) << 8) | (uint32_t(p[4]) << 16) | (uint32_t(p[5]) << 24);
  // Some writers leave the size field 0; otherwise the file must be at least that long.
  DDIM_CHECK(declared == 0 || bytes.size() >= declared, "{}: truncated BMP ({} bytes, header says {})", what,
             bytes.size(), declared);
}

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
}

}  // namespace

torch::Tensor decode_image(const std::vector<char>& bytes, const std::string& what) {
  DDIM_CHECK(!bytes.empty(), "{}: file is empty", what);
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n", 8)) {
    verify_png(bytes, what);
  } else if (starts_with(bytes, "\xFF\xD8", 2)) {
    verify_jpeg(bytes, what);
  } else if (starts_with(bytes, "BM", 2)) {
    verify_bmp(bytes, what);
  } else {
    DDIM_FAIL("{}: not a PNG, JPEG or BMP image", what);
  }
  DDIM_CHECK(bytes.size() <= static_cast<size_t>(std::numeric_limits<int>::max()),
             "{}: image file of {} bytes is too large to decode", what, bytes.size());
  int w = 0, h = 0, channels_in_file = 0;
  DDIM_CHECK(stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                   static_cast<int>(bytes.size()), &w, &h, &channels_in_file),
             "{}: corrupt image: {}", what, stbi_failure_reason());
  // The header's size, checked before anything is allocated: a few hundred bytes may claim
  // 16 million rows.
  check_image_size(h, w, what);
  // Gray and gray+alpha decode to one channel, RGB and RGBA to three.
  const int channels = channels_in_file <= 2 ? 1 : 3;
  int w2 = 0, h2 = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()),
                            &w2, &h2, &channels_in_file, channels),
      stbi_image_free);
  DDIM_CHECK(pixels != nullptr, "{}: corrupt image: {}", what, stbi_failure_reason());
  DDIM_CHECK(w2 == w && h2 == h, "{}: corrupt image: its header says {}x{} but it decodes to {}x{}", what, w,
             h, w2, h2);
  auto hwc = torch::from_blob(pixels.get(), {h, w, channels}, torch::kUInt8);
  return hwc.permute({2, 0, 1}).contiguous().to(torch::kFloat32).div_(255.0);
}

void check_image_size(int64_t height, int64_t width, const std::string& what) {
  const int64_t max_pixels = input_limits().max_image_pixels;
  DDIM_CHECK_ARG(
      height > 0 && width > 0 && height <= max_pixels / width,
      "{}: an image of {}x{} pixels is larger than the limit of {} pixels (the input limit max_image_pixels)",
      what, width, height, max_pixels);
}

torch::Tensor read_image(const std::string& path) { return decode_image(read_file(path), path); }

std::string encode_png(const torch::Tensor& image) {
  DDIM_CHECK_ARG(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3),
                 "PNG encoding expects an image [C, H, W] with C = 1 or 3, got {}",
                 fmt::join(image.sizes(), "x"));
  auto hwc = image.detach()
                 .to(torch::kCPU, torch::kFloat32)
                 .clamp(0.0, 1.0)
                 .mul(255.0)
                 .round()
                 .to(torch::kUInt8)
                 .permute({1, 2, 0})
                 .contiguous();
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1)),
            c = static_cast<int>(hwc.size(2));
  std::string out;
  DDIM_CHECK(stbi_write_png_to_func(append_bytes, &out, w, h, c, hwc.data_ptr<uint8_t>(), w * c),
             "PNG encoding failed");
  return out;
}

void write_png(const std::string& path, const torch::Tensor& image) {
  write_file_atomic(path, encode_png(image));
}

torch::Tensor convert_channels(const torch::Tensor& image, int64_t channels) {
  DDIM_CHECK_ARG(channels == 1 || channels == 3, "channels must be 1 or 3, got {}", channels);
  const int64_t c = image.size(-3);
  if (c == channels) return image;
  if (c == 1) return torch::cat({image, image, image}, -3);
  DDIM_CHECK_ARG(c == 3, "cannot convert an image with {} channels", c);
  // ITU-R BT.601 luma.
  auto w = torch::tensor({0.299f, 0.587f, 0.114f}, image.options()).view({3, 1, 1});
  return (image * w).sum(-3, /*keepdim=*/true);
}

torch::Tensor center_crop(const torch::Tensor& image, int64_t size) {
  const int64_t h = image.size(-2), w = image.size(-1);
  DDIM_CHECK_ARG(size > 0 && size <= h && size <= w, "crop size {} does not fit an image of {}x{}", size, h,
                 w);
  const int64_t top = (h - size) / 2, left = (w - size) / 2;
  return image.narrow(-2, top, size).narrow(-1, left, size);
}

torch::Tensor resize_image(const torch::Tensor& image, int64_t height, int64_t width) {
  DDIM_CHECK_ARG(height > 0 && width > 0, "resize to {}x{}: sizes must be positive", height, width);
  check_image_size(height, width, fmt::format("resize to {}x{}", width, height));
  const bool batched = image.dim() == 4;
  auto x = batched ? image : image.unsqueeze(0);
  if (x.size(-2) == height && x.size(-1) == width) return image;
  namespace F = torch::nn::functional;
  const bool shrinking = height <= x.size(-2) && width <= x.size(-1);
  auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width});
  if (shrinking)
    opts = opts.mode(torch::kArea);
  else
    opts = opts.mode(torch::kBilinear).align_corners(false);
  auto y = F::interpolate(x.to(torch::kFloat32), opts).clamp(0.0, 1.0);
  return batched ? y : y.squeeze(0);
}

}  // namespace ddim
