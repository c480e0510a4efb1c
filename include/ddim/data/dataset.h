// Data sets, named by one spec string: `--data NAME[:PATH]`.
//
//   fashion-mnist[:DIR]  IDX files (default DIR /usr/share/datasets/fashion-mnist, Debian's
//                        dataset-fashion-mnist package); the embedded default
//   mnist:DIR            IDX files, gzipped or raw
//   cifar10:DIR          the binary batches (DIR or DIR/cifar-10-batches-bin)
//   folder:DIR           PNG/JPEG/BMP files, recursive; DIR/train and DIR/test are the
//                        splits when both exist; one sub-folder per class (at least two,
//                        every image in one) labels the images by sub-folder name
//   toy:circles | toy:two-moons | toy:gaussian   2-D points, a function of the seed
//   fonts[:FONT_DIR]     rendered letters with five attributes (fonts.h); 24 Debian fonts by
//                        default, else every .ttf/.otf file in FONT_DIR
//   faces[:DIR]          cartoon faces rendered by facesjs, with face attributes (faces.h);
//                        DIR a rendered set (default: the cache, default_faces_dir())
//
// Images are kept as uint8 [N, C, H, W] (one byte a pixel, so CelebA fits in memory) and
// handed out as float in [0, 1]; toy points as float [N, 2].
//
// Labels: a set may have several named attributes per example (fonts; a folder with an
// attributes file, see attributes.h). `labels` and `classes`, the one class label that
// class-conditional commands use, are then the attribute chosen by
// DataOptions::label_attribute.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ddim/core/names.h"
#include "ddim/data/attributes.h"

namespace ddim {

enum class Split { Train, Test, All };
/// "train", "test", "all".
DDIM_NAMED_ENUM(Split);

struct DataSpec {
  std::string name;  ///< one of dataset_names()
  std::string path;  ///< directory, or the toy set's name
  std::string to_string() const;
};

/// The valid NAMEs of a spec.
const std::vector<std::string>& dataset_names();

/// Parses "NAME[:PATH]". Throws ddim::InvalidArgument listing the valid names when NAME is
/// unknown, or when a set that needs a PATH has none.
DataSpec parse_data_spec(const std::string& text);

struct DataOptions {
  Split split = Split::Train;
  /// Keep the first `limit` examples of the split, in file order (fonts: in the set's fixed
  /// pseudo-random order, so that a few hundred examples cover every attribute; 0: all).
  int64_t limit = 0;
  /// Pad images with zeros to pad_to x pad_to, centred. -1 (auto): up to the next multiple
  /// of 8, since the U-Net halves the size three times (28x28 -> 32x32); 0: never.
  int64_t pad_to = -1;
  /// folder: crop, resize and channel options (see image_folder.h). fonts: `resize` is the
  /// image side (0: 32; at least 16), and crop and channels must be 0. faces: resize and
  /// channels as for folders (0: the rendered size), no crop.
  int64_t crop = 0;
  int64_t resize = 0;
  int64_t channels = 0;
  /// folder: an attributes file for the images (CSV or CelebA's layout, see attributes.h).
  std::string attributes_file;
  /// Keep only the examples meeting every condition (attributes.h: "letter=A..Z",
  /// "size=small,large"), before `limit`. Sets with attributes only (fonts, faces, a folder
  /// with an attributes file); fonts renders only the tuples kept.
  std::vector<std::string> where;
  /// The attribute that becomes `labels` and `classes` (empty: the set's default, `letter`
  /// for fonts and the first column of an attributes file). Sets without attributes accept
  /// only the empty name.
  std::string label_attribute;
  /// toy sets: the points are a function of this seed (the test split uses another stream).
  uint64_t seed = 0;
  /// toy sets: number of points (0: 10000 for train, 2000 for test).
  int64_t toy_size = 0;

  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
};

/// Zero padding added around images, per side, so that it can be cropped off again.
struct Padding {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  bool any() const { return top || bottom || left || right; }
  /// Crops the padding off [.., H, W].
  torch::Tensor crop(const torch::Tensor& images) const;
};

struct Dataset {
  std::string spec;  ///< the spec it was loaded from
  Split split = Split::Train;
  torch::Tensor storage;              ///< uint8 [N, C, H, W] images, or float [N, D] points
  torch::Tensor labels;               ///< int64 [N]; undefined when the set has no labels
  std::vector<std::string> classes;   ///< class names by label, when known
  std::vector<Attribute> attributes;  ///< named attributes (labels int64 [N] each); may be empty
  std::string label_attribute;        ///< the attribute `labels` is, when there are attributes
  Padding padding;                    ///< what was added to reach the stored size
  /// int64 [N]: each example's index in the generator that drew it (fonts: the tuple index,
  /// faces: the face index), what counterfactuals are rendered from; undefined for other sets.
  torch::Tensor ids;

  int64_t size() const { return storage.size(0); }
  bool is_image() const { return storage.dim() == 4; }
  /// Shape of one example: {C, H, W} or {D}.
  std::vector<int64_t> example_shape() const;
  /// Examples at `indices` (int64 [B]) as float: images in [0, 1], points as they are.
  torch::Tensor get(const torch::Tensor& indices) const;
  /// Examples [begin, end) as float.
  torch::Tensor slice(int64_t begin, int64_t end) const;
  /// All examples as float.
  torch::Tensor all() const { return slice(0, size()); }
};

/// Loads a data set. Throws ddim::InvalidArgument for bad options and ddim::Error for
/// missing or corrupt files (the message names the file).
Dataset load_dataset(const DataSpec& spec, const DataOptions& options);

/// The side of the square that DataOptions::pad_to pads H x W images to (0: no padding).
int64_t padded_size(int64_t height, int64_t width, int64_t pad_to);

/// A data set as a command names it: the spec and the options. Training checkpoints store it
/// (meta["data_options"]), so that a resumed run reloads exactly the same data.
struct DataSource {
  std::string spec = "fashion-mnist";  ///< NAME[:PATH], see parse_data_spec
  DataOptions options;

  Dataset load() const { return load_dataset(parse_data_spec(spec), options); }
  /// The same source, another split.
  DataSource with_split(Split split) const;
  /// Whether the set has a separate `split`: IDX, CIFAR-10 and toy sets always have their test
  /// split; a folder has one only when it holds train/ and test/ subfolders. (Missing files
  /// of a set that should have the split are an error of load(), not a `false` here.)
  bool has_split(Split split) const;
  /// {"spec", "split", "limit", "pad_to", "crop", "resize", "channels", "toy_size", "seed",
  /// "attributes", "class_attribute"}.
  nlohmann::json to_json() const;
  /// Reads to_json()'s layout; keys that are missing keep their defaults (older checkpoints
  /// have no "seed": `default_seed` is used then). Throws ddim::InvalidArgument naming a key
  /// of the wrong type.
  static DataSource from_json(const nlohmann::json& j, uint64_t default_seed = 0);
};

/// What a model was trained on: enough to shape, pad and label its inputs and outputs.
/// Models store it (checkpoint meta["data"]).
struct DataInfo {
  std::string spec;                  ///< e.g. "fashion-mnist:/usr/share/datasets/fashion-mnist"
  std::vector<int64_t> shape;        ///< one example: {C, H, W} or {D}
  Padding padding;                   ///< zero padding inside `shape` (cropped for metrics)
  std::vector<std::string> classes;  ///< class names, when the data set has them
  /// The attribute the classes are, when they come from attributes (fonts, faces, folders with
  /// --attributes; e.g. "eyeglasses"): commands that reload the model's data label it by this.
  std::string class_attribute;
  int64_t examples = 0;  ///< size of the training split used

  bool is_image() const { return shape.size() == 3; }
  /// Crops the padding off images (points pass unchanged).
  torch::Tensor crop(const torch::Tensor& x) const { return is_image() ? padding.crop(x) : x; }
  /// The name of class k ("k" when the names are unknown).
  std::string class_name(int64_t k) const;
  /// The class named `text`, by its name or its index below `count` (the model's number of
  /// classes); throws ddim::InvalidArgument listing the classes otherwise.
  int64_t class_index(const std::string& text, int64_t count) const;
  nlohmann::json to_json() const;
  static DataInfo from_json(const nlohmann::json& j);
  static DataInfo of(const Dataset& data);
};

/// Pads [N, C, H, W] with zeros, centred, to `size` x `size` (the Padding records how).
torch::Tensor pad_images(const torch::Tensor& images, int64_t size, Padding* padding);

}  // namespace ddim
