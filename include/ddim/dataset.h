// Data sets, named by one spec string: `--data NAME[:PATH]`.
//
//   fashion-mnist[:DIR]  IDX files (default DIR /usr/share/datasets/fashion-mnist, Debian's
//                        dataset-fashion-mnist package); the embedded default
//   mnist:DIR            IDX files, gzipped or raw
//   cifar10:DIR          the binary batches (DIR or DIR/cifar-10-batches-bin)
//   folder:DIR           PNG/JPEG/BMP files, recursive; DIR/train and DIR/test are the
//                        splits when both exist
//   toy:circles | toy:two-moons | toy:gaussian   2-D points, a function of the seed
//   fonts[:FONT_DIR]     rendered letters with five attributes (fonts.h); 24 Debian fonts by
//                        default, else every .ttf/.otf file in FONT_DIR
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

#include <string>
#include <vector>

#include "ddim/attributes.h"

namespace ddim {

enum class Split { Train, Test, All };
std::string to_string(Split split);
/// "train", "test" or "all"; throws ddim::InvalidArgument listing them otherwise.
Split split_from_string(const std::string& name);

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
  /// image side (0: 32; at least 16), and crop and channels must be 0.
  int64_t crop = 0;
  int64_t resize = 0;
  int64_t channels = 0;
  /// folder: an attributes file for the images (CSV or CelebA's layout, see attributes.h).
  std::string attributes_file;
  /// The attribute that becomes `labels` and `classes` (empty: the set's default, `letter`
  /// for fonts and the first column of an attributes file). Sets without attributes accept
  /// only the empty name.
  std::string label_attribute;
  /// toy sets: the points are a function of this seed (the test split uses another stream).
  uint64_t seed = 0;
  /// toy sets: number of points (0: 10000 for train, 2000 for test).
  int64_t toy_size = 0;
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

/// Pads [N, C, H, W] with zeros, centred, to `size` x `size` (the Padding records how).
torch::Tensor pad_images(const torch::Tensor& images, int64_t size, Padding* padding);

}  // namespace ddim
