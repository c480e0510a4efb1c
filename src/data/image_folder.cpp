#include "ddim/data/image_folder.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "data/part.h"
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

namespace {

// The sub-folder of `root` that holds `file` ("" when the file lies in root itself).
std::string class_folder(const std::string& root, const std::string& file) {
  const auto rel = fs::path(file).lexically_relative(root);
  return std::distance(rel.begin(), rel.end()) >= 2 ? rel.begin()->string() : std::string();
}

// The ImageFolder convention: when every image lies in a sub-folder of its split's root and
// there are at least two, the sub-folder is the class. Names are sorted over both splits, so a
// label means the same class in train/ and test/.
void label_by_subfolder(const std::vector<std::pair<std::string, std::string>>& all_files,
                        const std::vector<std::pair<std::string, std::string>>& files, Part& part) {
  std::vector<std::string> names;
  for (const auto& [root, file] : all_files) {
    auto name = class_folder(root, file);
    if (name.empty()) return;
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.size() < 2) return;
  std::vector<int64_t> labels;
  labels.reserve(files.size());
  for (const auto& [root, file] : files) {
    const auto it = std::lower_bound(names.begin(), names.end(), class_folder(root, file));
    labels.push_back(it - names.begin());
  }
  part.labels = torch::tensor(labels, torch::kInt64);
  part.classes = std::move(names);
}

}  // namespace

Part load_folder_part(const std::string& dir, Split split, const DataOptions& o) {
  DDIM_CHECK(is_dir(dir), "{}: no such directory", dir);
  const bool has_splits = is_dir(dir + "/train") && is_dir(dir + "/test");
  std::vector<std::string> files;
  // (split root, file) pairs: of the split asked for, and of every split (for class names).
  std::vector<std::pair<std::string, std::string>> rooted, all_rooted;
  auto add = [](std::vector<std::pair<std::string, std::string>>& to, const std::string& root,
                const std::vector<std::string>& list) {
    for (const auto& f : list) to.emplace_back(root, f);
  };
  if (has_splits) {
    const auto train = list_images(dir + "/train"), test = list_images(dir + "/test");
    add(all_rooted, dir + "/train", train);
    add(all_rooted, dir + "/test", test);
    if (split != Split::Test) add(rooted, dir + "/train", train);
    if (split != Split::Train) add(rooted, dir + "/test", test);
    for (const auto& [root, f] : rooted) files.push_back(f);
  } else {
    DDIM_CHECK_ARG(split != Split::Test,
                   "{}: a folder has a test split only when it holds train/ and test/ "
                   "subfolders; use the train split or all",
                   dir);
    files = list_images(dir);
    add(all_rooted, dir, files);
    rooted = all_rooted;
  }
  DDIM_CHECK_ARG(o.where.empty() || !o.attributes_file.empty(),
                 "folder:{}: --where selects by attribute; give the images' attributes (--attributes FILE)",
                 dir);
  if (o.where.empty() && o.limit > 0 && static_cast<int64_t>(files.size()) > o.limit) {
    files.resize(o.limit);
    rooted.resize(o.limit);
  }
  Part part;
  if (!o.attributes_file.empty()) {
    // Checked before decoding any image. Rows may name any image under dir, of either split.
    const auto under = list_images(dir);
    const auto table = read_attribute_table(o.attributes_file, static_cast<int64_t>(under.size()));
    if (!o.label_attribute.empty()) find_attribute(table.attributes, o.label_attribute, "folder:" + dir);
    part.attributes = attributes_for_files(table, dir, under, files);
    part.default_attribute = part.attributes.front().name;
    if (!o.where.empty()) {
      const auto kept = select_where(o, part.attributes, "folder:" + dir);
      part.attributes = select_attributes(part.attributes, kept);
      files = pick_items(files, kept);
    }
  } else {
    label_by_subfolder(all_rooted, rooted, part);
  }
  part.images = load_images(files, FolderOptions{o.crop, o.resize, o.channels});
  // A 1x20000 image is small; padded to a square it is not.
  const int64_t target = padded_size(part.images.size(2), part.images.size(3), o.pad_to);
  if (target > 0)
    check_image_size(target, target,
                     fmt::format("{}: {}x{} images padded to {}x{}", files[0], part.images.size(3),
                                 part.images.size(2), target, target));
  return part;
}

}  // namespace ddim
