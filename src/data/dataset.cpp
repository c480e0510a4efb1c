#include "ddim/data/dataset.h"

#include <algorithm>
#include <filesystem>

#include "data/part.h"
#include "ddim/core/error.h"
#include "ddim/core/limits.h"
#include "ddim/core/rng.h"
#include "ddim/data/faces.h"
#include "ddim/data/fonts.h"
#include "ddim/data/image_folder.h"
#include "ddim/data/toy.h"
#include "ddim/io/cifar10.h"
#include "ddim/io/idx.h"
#include "ddim/io/image.h"

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

// Finds DIR/stem or DIR/stem.gz.
std::string find_idx(const std::string& dir, const std::string& stem) {
  std::error_code ec;
  for (const auto& candidate : {dir + "/" + stem + ".gz", dir + "/" + stem})
    if (fs::exists(candidate, ec)) return candidate;
  DDIM_FAIL("{}: missing IDX file {} (or {}.gz)", dir, stem, stem);
}

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
  return {images.unsqueeze(1), labels.to(torch::kInt64), {}, {}, {}, {}};
}

Part load_idx_set(const std::string& dir, Split split) {
  DDIM_CHECK(is_dir(dir), "{}: no such directory", dir);
  if (split == Split::Train) return load_idx_part(dir, "train");
  if (split == Split::Test) return load_idx_part(dir, "t10k");
  auto a = load_idx_part(dir, "train");
  auto b = load_idx_part(dir, "t10k");
  return {torch::cat({a.images, b.images}), torch::cat({a.labels, b.labels}), {}, {}, {}, {}};
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
  return {torch::cat(images), torch::cat(labels), {}, {}, {}, {}};
}

}  // namespace

torch::Tensor select_where(const DataOptions& o, const std::vector<Attribute>& attributes,
                           const std::string& what) {
  std::vector<AttributeCondition> conditions;
  for (const auto& text : o.where)
    conditions.push_back(parse_attribute_condition(text, attributes, what + " --where"));
  auto kept = meets_conditions(conditions, attributes).nonzero().view({-1});
  DDIM_CHECK_ARG(kept.size(0) > 0, "{}: no {} example meets --where {}", what, to_string(o.split),
                 printable(fmt::format("{}", fmt::join(o.where, " --where ")), 300));
  if (o.limit > 0 && kept.size(0) > o.limit) kept = kept.narrow(0, 0, o.limit);
  return kept;
}

template <>
const NameTable<Split>& name_table<Split>() {
  static const NameTable<Split> table{"split",
                                      {{Split::Train, "train"}, {Split::Test, "test"}, {Split::All, "all"}}};
  return table;
}

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"fashion-mnist", "mnist", "cifar10", "folder",
                                                 "toy",           "fonts", "faces"};
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
                 "unknown dataset '{}' in the data spec '{}' (valid: fashion-mnist[:DIR], mnist:DIR, "
                 "cifar10:DIR, folder:DIR, toy:circles|two-moons|gaussian, fonts[:FONT_DIR], faces[:DIR])",
                 spec.name, text);
  if (spec.name == "fashion-mnist" && spec.path.empty()) spec.path = kFashionMnistDir;
  if (spec.name == "fonts") return spec;  // no path: the default fonts
  if (spec.name == "faces") return spec;  // no path: the cached set (faces.h, default_faces_dir)
  DDIM_CHECK_ARG(!spec.path.empty(), "data spec '{}': {} needs a path, as {}:DIR", text, spec.name,
                 spec.name == "toy" ? "toy:NAME" : spec.name);
  if (spec.name == "toy") {
    const auto& toys = toy_names();
    DDIM_CHECK_ARG(std::find(toys.begin(), toys.end(), spec.path) != toys.end(),
                   "unknown toy set '{}' in the data spec '{}' (valid: {})", spec.path, text,
                   fmt::join(toys, ", "));
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

void DataOptions::validate() const {
  DDIM_CHECK_ARG(limit >= 0, "the example limit must not be negative, got {}", limit);
  DDIM_CHECK_ARG(pad_to >= -1, "the pad size must be -1 (auto), 0 (never) or a size, got {}", pad_to);
  DDIM_CHECK_ARG(crop >= 0 && resize >= 0, "crop and resize sizes must not be negative, got {} and {}", crop,
                 resize);
  DDIM_CHECK_ARG(channels == 0 || channels == 1 || channels == 3,
                 "channels must be 0 (as the files are), 1 or 3, got {}", channels);
  DDIM_CHECK_ARG(toy_size >= 0, "the toy set size must not be negative, got {}", toy_size);
}

Dataset load_dataset(const DataSpec& spec, const DataOptions& o) {
  o.validate();
  DDIM_CHECK_ARG(o.attributes_file.empty() || spec.name == "folder",
                 "attributes file {}: an attributes file goes with folder data, not {}", o.attributes_file,
                 spec.to_string());
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
    part = load_folder_part(spec.path, o.split, o);
    ds.classes = part.classes;
  } else if (spec.name == "fonts") {
    part = load_fonts_part(spec.path, o);
  } else if (spec.name == "faces") {
    part = load_faces_part(spec.path.empty() ? default_faces_dir() : spec.path, o.split, o);
  } else if (spec.name == "toy") {
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
  DDIM_CHECK_ARG(o.where.empty() || !part.attributes.empty(),
                 "--where {}: {} has no attributes to select by (fonts and faces have; folder data gets them "
                 "from an attributes file)",
                 fmt::join(o.where, " --where "), spec.to_string());
  if (!part.attributes.empty()) {
    // The class label is one of the attributes.
    const auto& name = o.label_attribute.empty() ? part.default_attribute : o.label_attribute;
    const auto& a = part.attributes[find_attribute(part.attributes, name, spec.to_string())];
    part.labels = a.labels;
    ds.classes = a.values;
    ds.label_attribute = a.name;
  } else {
    DDIM_CHECK_ARG(o.label_attribute.empty(),
                   "class attribute '{}': {} has no attributes (fonts and faces have; folder data gets them "
                   "from an attributes file)",
                   o.label_attribute, spec.to_string());
  }
  auto data = part.images;
  auto labels = part.labels;
  if (o.limit > 0 && data.size(0) > o.limit) {
    data = data.narrow(0, 0, o.limit);
    if (labels.defined()) labels = labels.narrow(0, 0, o.limit);
    if (part.ids.defined()) part.ids = part.ids.narrow(0, 0, o.limit);
    part.attributes = narrow_attributes(part.attributes, o.limit);
  }
  ds.attributes = std::move(part.attributes);
  ds.ids = part.ids;
  if (data.dim() == 4) {
    const int64_t h = data.size(2), w = data.size(3);
    const int64_t target = padded_size(h, w, o.pad_to);
    if (target > 0 && (target != h || target != w)) {
      check_image_size(target, target,
                       fmt::format("{}: {}x{} images padded to {}x{}", ds.spec, w, h, target, target));
      const int64_t max_bytes = input_limits().max_bytes;
      DDIM_CHECK_ARG(data.size(0) * data.size(1) <= max_bytes / (target * target),
                     "{}: {} images padded to {}x{} would take more than the limit of {} bytes", ds.spec,
                     data.size(0), target, target, max_bytes);
      data = pad_images(data, target, &ds.padding);
    }
  }
  ds.storage = data.contiguous();
  ds.labels = labels.defined() ? labels.contiguous() : labels;
  return ds;
}

}  // namespace ddim

namespace ddim {

DataSource DataSource::with_split(Split split) const {
  DataSource s = *this;
  s.options.split = split;
  return s;
}

bool DataSource::has_split(Split split) const {
  const auto parsed = parse_data_spec(spec);
  if (split == Split::All || parsed.name != "folder") return true;
  return is_dir(parsed.path + "/train") && is_dir(parsed.path + "/test");
}

nlohmann::json DataSource::to_json() const {
  const auto& o = options;
  return {{"spec", spec},
          {"split", ddim::to_string(o.split)},
          {"limit", o.limit},
          {"pad_to", o.pad_to},
          {"crop", o.crop},
          {"resize", o.resize},
          {"channels", o.channels},
          {"toy_size", o.toy_size},
          {"seed", o.seed},
          {"attributes", o.attributes_file},
          {"class_attribute", o.label_attribute},
          {"where", o.where}};
}

DataSource DataSource::from_json(const nlohmann::json& j, uint64_t default_seed) {
  DataSource s;
  try {
    s.spec = j.value("spec", s.spec);
    auto& o = s.options;
    o.split = from_string<Split>(j.value("split", std::string("train")));
    o.limit = j.value("limit", o.limit);
    o.pad_to = j.value("pad_to", o.pad_to);
    o.crop = j.value("crop", o.crop);
    o.resize = j.value("resize", o.resize);
    o.channels = j.value("channels", o.channels);
    o.toy_size = j.value("toy_size", o.toy_size);
    o.seed = j.value("seed", default_seed);
    o.attributes_file = j.value("attributes", o.attributes_file);
    o.label_attribute = j.value("class_attribute", o.label_attribute);
    o.where = j.value("where", o.where);
  } catch (const nlohmann::json::exception& e) {
    DDIM_CHECK_ARG(false, "data options: {}", e.what());
  }
  return s;
}

std::string DataInfo::class_name(int64_t k) const {
  return k >= 0 && k < static_cast<int64_t>(classes.size()) ? classes[static_cast<size_t>(k)]
                                                            : std::to_string(k);
}

int64_t DataInfo::class_index(const std::string& text, int64_t count) const {
  for (size_t k = 0; k < classes.size(); ++k)
    if (classes[k] == text && static_cast<int64_t>(k) < count) return static_cast<int64_t>(k);
  const bool digits =
      !text.empty() && text.size() < 10 && text.find_first_not_of("0123456789") == std::string::npos;
  DDIM_CHECK_ARG(
      digits && std::stoll(text) < count, "unknown class '{}' (classes: {})", text,
      classes.empty() ? fmt::format("0..{}", count - 1) : fmt::format("{}", fmt::join(classes, ", ")));
  return std::stoll(text);
}

nlohmann::json DataInfo::to_json() const {
  return {{"spec", spec},
          {"shape", shape},
          {"padding", {padding.top, padding.bottom, padding.left, padding.right}},
          {"classes", classes},
          {"class_attribute", class_attribute},
          {"examples", examples}};
}

DataInfo DataInfo::from_json(const nlohmann::json& j) {
  DataInfo d;
  d.spec = j.value("spec", std::string());
  d.shape = j.at("shape").get<std::vector<int64_t>>();
  if (j.contains("padding")) {
    auto p = j.at("padding").get<std::vector<int64_t>>();
    if (p.size() == 4) d.padding = {p[0], p[1], p[2], p[3]};
  }
  d.classes = j.value("classes", std::vector<std::string>{});
  d.class_attribute = j.value("class_attribute", std::string());
  d.examples = j.value("examples", int64_t{0});
  // Shapes size the seeds, pictures and padding of every command: keep them plausible.
  DDIM_CHECK_ARG(d.shape.size() == 1 || d.shape.size() == 3, "shape [{}]: expected [C, H, W] or [D]",
                 fmt::join(d.shape, ", "));
  for (auto s : d.shape)
    DDIM_CHECK_ARG(s > 0 && s <= 65536, "shape [{}]: sizes must be in 1..65536", fmt::join(d.shape, ", "));
  if (d.is_image()) {
    const int64_t max_pixels = input_limits().max_image_pixels;
    DDIM_CHECK_ARG(d.shape[0] == 1 || d.shape[0] == 3, "shape [{}]: images have 1 or 3 channels",
                   fmt::join(d.shape, ", "));
    DDIM_CHECK_ARG(d.shape[1] * d.shape[2] <= max_pixels,
                   "shape [{}]: more than the limit of {} pixels (the input limit max_image_pixels)",
                   fmt::join(d.shape, ", "), max_pixels);
    const auto& p = d.padding;
    DDIM_CHECK_ARG(p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0 &&
                       p.top + p.bottom < d.shape[1] && p.left + p.right < d.shape[2],
                   "padding [{}, {}, {}, {}] does not fit shape [{}]", p.top, p.bottom, p.left, p.right,
                   fmt::join(d.shape, ", "));
  } else {
    DDIM_CHECK_ARG(!d.padding.any(), "points have no padding");
  }
  return d;
}

DataInfo DataInfo::of(const Dataset& data) {
  DataInfo d;
  d.spec = data.spec;
  d.shape = data.example_shape();
  d.padding = data.padding;
  d.classes = data.classes;
  if (!data.attributes.empty()) d.class_attribute = data.label_attribute;
  d.examples = data.size();
  return d;
}

}  // namespace ddim
