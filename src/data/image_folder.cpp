#include "ddim/data/image_folder.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/limits.h"
#include "ddim/io/image.h"

namespace fs = std::filesystem;

namespace ddim {

std::vector<std::string> list_images(const std::string& dir) {
  std::error_code ec;
  DDIM_CHECK(fs::exists(dir, ec), "{}: no such directory", dir);
  DDIM_CHECK(fs::is_directory(dir, ec), "{}: not a directory", dir);
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp")
      files.push_back(it->path().string());
  }
  DDIM_CHECK(!ec, "{}: cannot list: {}", dir, ec.message());
  DDIM_CHECK(!files.empty(), "{}: no PNG, JPEG or BMP images found (searched recursively)", dir);
  std::sort(files.begin(), files.end());
  return files;
}

torch::Tensor load_images(const std::vector<std::string>& files, const FolderOptions& options) {
  DDIM_CHECK_ARG(options.crop >= 0 && options.resize >= 0, "crop and resize must not be negative");
  DDIM_CHECK_ARG(options.channels == 0 || options.channels == 1 || options.channels == 3,
                 "channels must be 1 or 3, got {}", options.channels);
  DDIM_CHECK(!files.empty(), "no image files to load");
  const auto n = static_cast<int64_t>(files.size());
  std::vector<torch::Tensor> images(files.size());
  // Decoding is independent per file: spread it over the intra-op threads.
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      throw_if_interrupted();
      auto img = read_image(files[i]);
      if (options.crop > 0) {
        DDIM_CHECK(options.crop <= std::min(img.size(1), img.size(2)),
                   "{}: crop size {} does not fit the {}x{} image", files[i], options.crop, img.size(1),
                   img.size(2));
        img = center_crop(img, options.crop);
      }
      if (options.resize > 0) img = resize_image(img, options.resize, options.resize);
      images[i] = img.mul(255.0).round_().to(torch::kUInt8);  // keep memory at 1 byte/pixel
    }
  });
  int64_t channels = options.channels;
  if (channels == 0) {
    channels = 1;
    for (const auto& img : images) channels = std::max(channels, img.size(0));
  }
  const auto h = images[0].size(1), w = images[0].size(2);
  const int64_t max_bytes = input_limits().max_bytes;
  DDIM_CHECK_ARG(n * channels <= max_bytes / (h * w),
                 "{}: {} images of {}x{} would take more than the limit of {} bytes", files[0], n, w, h,
                 max_bytes);
  auto out = torch::empty({n, channels, h, w}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    DDIM_CHECK(images[i].size(1) == h && images[i].size(2) == w,
               "{}: image is {}x{} but {} is {}x{}; give a resize (and crop) size so all "
               "images agree",
               files[i], images[i].size(2), images[i].size(1), files[0], w, h);
    out[i].copy_(images[i].size(0) == channels
                     ? images[i]
                     : convert_channels(images[i].to(torch::kFloat32), channels).round_());
    images[i] = torch::Tensor();
  }
  return out;
}

}  // namespace ddim
