#include "ddim/dataset.h"

#include <filesystem>

#include "ddim/cifar10.h"
#include "ddim/error.h"
#include "ddim/idx.h"
#include "ddim/image.h"
#include "ddim/image_folder.h"
#include "ddim/limits.h"
#include "ddim/rng.h"
#include "ddim/toy.h"

namespace fs = std::filesystem;

namespace ddim {
namespace {

const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

const std::vector<std::string>& digit_classes() {
  static const std::vector<std::string> names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

bool is_dir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// Finds DIR/stem or DIR/stem.gz.
std::string find_idx(const std::string& dir, const std::string& stem) {
  std::error_code ec;
  for (const auto& candidate : {dir + "/" + stem + ".gz", dir + "/" + stem})
    if (fs::exists(candidate, ec)) return candidate;
  DDIM_FAIL("{}: missing IDX file {} (or {}.gz)", dir, stem, stem);
}

struct Part {
  torch::Tensor images, labels;
};

Part load_idx_part(const std::string& dir, const std::string& prefix) {
  const auto images_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const auto labels_path = find_idx(dir, prefix + "-labels-idx1-ubyte");
  auto images = read_idx(images_path);
  auto labels = read_idx(labels_path);
  DDIM_CHECK(images.dim() == 3, "{}: expected 3 IDX dimensions (count, rows, columns), got {}", images_path,
             images.dim());
  DDIM_CHECK(labels.dim() == 1, "{}: expected 1 IDX dimension (count), got {}", labels_path, labels.dim());
  check_image_size(images.size(1), images.size(2), images_path);
  if (labels.numel() > 0) {
    const int64_t top = labels.max().item<int64_t>();
    DDIM_CHECK(top <= 9, "{}: label {} is outside 0..9", labels_path, top);
  }
  DDIM_CHECK(images.size(0) == labels.size(0), "{} has {} images but {} has {} labels", images_path,
             images.size(0), labels_path, labels.size(0));
  return {images.unsqueeze(1), labels.to(torch::kInt64)};
}

Part load_idx_set(const std::string& dir, Split split) {
  DDIM_CHECK(is_dir(dir), "{}: no such directory", dir);
  if (split == Split::Train) return load_idx_part(dir, "train");
  if (split == Split::Test) return load_idx_part(dir, "t10k");
  auto a = load_idx_part(dir, "train");
  auto b = load_idx_part(dir, "t10k");
  return {torch::cat({a.images, b.images}), torch::cat({a.labels, b.labels})};
}

Part load_cifar10(std::string dir, Split split) {
  DDIM_CHECK(is_dir(dir), "{}: no such directory", dir);
  if (is_dir(dir + "/cifar-10-batches-bin")) dir += "/cifar-10-batches-bin";
  std::vector<std::string> files;
  if (split != Split::Test)
    for (int i = 1; i <= 5; ++i) files.push_back(fmt::format("{}/data_batch_{}.bin", dir, i));
  if (split != Split::Train) files.push_back(dir + "/test_batch.bin");
  std::vector<torch::Tensor> images, labels;
  for (const auto& f : files) {
    auto batch = read_cifar10_batch(f);
    images.push_back(batch.images);
    labels.push_back(batch.labels);
  }
  return {torch::cat(images), torch::cat(labels)};
}

Part load_folder(const std::string& dir, Split split, const DataOptions& o) {
  DDIM_CHECK(is_dir(dir), "{}: no such directory", dir);
  const bool has_splits = is_dir(dir + "/train") && is_dir(dir + "/test");
  std::vector<std::string> files;
  if (has_splits) {
    if (split != Split::Test) files = list_images(dir + "/train");
    if (split != Split::Train) {
      auto test = list_images(dir + "/test");
      files.insert(files.end(), test.begin(), test.end());
    }
  } else {
    DDIM_CHECK_ARG(split != Split::Test,
                   "{}: a folder has a test split only when it holds train/ and test/ "
                   "subfolders; use --split train or all",
                   dir);
    files = list_images(dir);
  }
  if (o.limit > 0 && static_cast<int64_t>(files.size()) > o.limit) files.resize(o.limit);
  auto images = load_images(files, FolderOptions{o.crop, o.resize, o.channels});
  // A 1x20000 image is small; padded to a square it is not.
  const int64_t target = padded_size(images.size(2), images.size(3), o.pad_to);
  if (target > 0)
    check_image_size(target, target,
                     fmt::format("{}: {}x{} images padded to {}x{} (--pad-to)", files[0], images.size(3),
                                 images.size(2), target, target));
  return {images, torch::Tensor()};
}

}  // namespace

std::string to_string(Split split) {
  switch (split) {
    case Split::Train:
      return "train";
    case Split::Test:
      return "test";
    case Split::All:
      return "all";
  }
  return "?";
}

Split split_from_string(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "test") return Split::Test;
  if (name == "all") return Split::All;
  DDIM_CHECK_ARG(false, "unknown split '{}' (valid: train, test, all)", name);
  return Split::Train;
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"fashion-mnist", "mnist", "cifar10", "folder", "toy"};
  return names;
}

std::string DataSpec::to_string() const { return path.empty() ? name : name + ":" + path; }

DataSpec parse_data_spec(const std::string& text) {
  DataSpec spec;
  const auto colon = text.find(':');
  spec.name = text.substr(0, colon);
  if (colon != std::string::npos) spec.path = text.substr(colon + 1);
  const auto& names = dataset_names();
  DDIM_CHECK_ARG(std::find(names.begin(), names.end(), spec.name) != names.end(),
                 "unknown dataset '{}' in --data {} (valid: fashion-mnist[:DIR], mnist:DIR, "
                 "cifar10:DIR, folder:DIR, toy:circles|two-moons|gaussian)",
                 spec.name, text);
  if (spec.name == "fashion-mnist" && spec.path.empty()) spec.path = kFashionMnistDir;
  DDIM_CHECK_ARG(!spec.path.empty(), "--data {}: {} needs a path, as {}:DIR", text, spec.name,
                 spec.name == "toy" ? "toy:NAME" : spec.name);
  if (spec.name == "toy") {
    const auto& toys = toy_names();
    DDIM_CHECK_ARG(std::find(toys.begin(), toys.end(), spec.path) != toys.end(),
                   "unknown toy set '{}' in --data {} (valid: {})", spec.path, text, fmt::join(toys, ", "));
  }
  return spec;
}

int64_t padded_size(int64_t height, int64_t width, int64_t pad_to) {
  if (pad_to == -1) return ((std::max(height, width) + 7) / 8) * 8;
  return pad_to;
}

torch::Tensor Padding::crop(const torch::Tensor& images) const {
  if (!any()) return images;
  const int64_t h = images.size(-2), w = images.size(-1);
  return images.narrow(-2, top, h - top - bottom).narrow(-1, left, w - left - right);
}

torch::Tensor pad_images(const torch::Tensor& images, int64_t size, Padding* padding) {
  const int64_t h = images.size(-2), w = images.size(-1);
  DDIM_CHECK_ARG(size >= h && size >= w, "cannot pad {}x{} images to {}x{}: pad size is smaller", h, w, size,
                 size);
  Padding p;
  p.top = (size - h) / 2;
  p.bottom = size - h - p.top;
  p.left = (size - w) / 2;
  p.right = size - w - p.left;
  if (padding) *padding = p;
  if (!p.any()) return images;
  return torch::constant_pad_nd(images, {p.left, p.right, p.top, p.bottom}, 0);
}

std::vector<int64_t> Dataset::example_shape() const {
  auto s = storage.sizes().vec();
  s.erase(s.begin());
  return s;
}

torch::Tensor Dataset::get(const torch::Tensor& indices) const {
  auto x = storage.index_select(0, indices.to(storage.device(), torch::kInt64));
  return is_image() ? x.to(torch::kFloat32).div_(255.0) : x.to(torch::kFloat32);
}

torch::Tensor Dataset::slice(int64_t begin, int64_t end) const {
  auto x = storage.slice(0, begin, end);
  return is_image() ? x.to(torch::kFloat32).div_(255.0) : x.to(torch::kFloat32).clone();
}

Dataset load_dataset(const DataSpec& spec, const DataOptions& o) {
  DDIM_CHECK_ARG(o.limit >= 0, "--limit must not be negative, got {}", o.limit);
  DDIM_CHECK_ARG(o.pad_to >= -1, "--pad-to must be -1 (auto), 0 (never) or a size, got {}", o.pad_to);
  Dataset ds;
  ds.spec = spec.to_string();
  ds.split = o.split;
  Part part;
  if (spec.name == "fashion-mnist" || spec.name == "mnist") {
    part = load_idx_set(spec.path, o.split);
    ds.classes = spec.name == "mnist" ? digit_classes() : fashion_mnist_classes();
  } else if (spec.name == "cifar10") {
    part = load_cifar10(spec.path, o.split);
    ds.classes = cifar10_classes();
  } else if (spec.name == "folder") {
    part = load_folder(spec.path, o.split, o);
  } else if (spec.name == "toy") {
    DDIM_CHECK_ARG(o.toy_size >= 0, "toy set size must not be negative, got {}", o.toy_size);
    auto points = [&](int64_t default_n, uint64_t stream) {
      return make_toy_points(spec.path, o.toy_size > 0 ? o.toy_size : default_n, mix_seed(o.seed, stream));
    };
    if (o.split == Split::Train)
      part.images = points(10000, 1);
    else if (o.split == Split::Test)
      part.images = points(2000, 2);
    else
      part.images = torch::cat({points(10000, 1), points(2000, 2)});
  } else {
    DDIM_FAIL("unknown dataset '{}'", spec.name);
  }
  auto data = part.images;
  auto labels = part.labels;
  if (o.limit > 0 && data.size(0) > o.limit) {
    data = data.narrow(0, 0, o.limit);
    if (labels.defined()) labels = labels.narrow(0, 0, o.limit);
  }
  if (data.dim() == 4) {
    const int64_t h = data.size(2), w = data.size(3);
    const int64_t target = padded_size(h, w, o.pad_to);
    if (target > 0 && (target != h || target != w)) {
      check_image_size(
          target, target,
          fmt::format("{}: {}x{} images padded to {}x{} (--pad-to)", ds.spec, w, h, target, target));
      const int64_t max_bytes = input_limits().max_bytes;
      DDIM_CHECK_ARG(data.size(0) * data.size(1) <= max_bytes / (target * target),
                     "{}: {} images padded to {}x{} (--pad-to) would take more than the limit of {} bytes",
                     ds.spec, data.size(0), target, target, max_bytes);
      data = pad_images(data, target, &ds.padding);
    }
  }
  ds.storage = data.contiguous();
  ds.labels = labels.defined() ? labels.contiguous() : labels;
  return ds;
}

}  // namespace ddim
