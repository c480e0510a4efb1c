// Data sets, named by one spec string: `--data NAME[:PATH]`.
//
//   fashion-mnist[:DIR]  IDX files (default DIR /usr/share/datasets/fashion-mnist, Debian's
//                        dataset-fashion-mnist package); the embedded default
//   mnist:DIR            IDX files, gzipped or raw
//   cifar10:DIR          the binary batches (DIR or DIR/cifar-10-batches-bin)
//   folder:DIR           PNG/JPEG/BMP files, recursive; DIR/train and DIR/test are the
//                        splits when both exist
//   toy:circles | toy:two-moons | toy:gaussian   2-D points, a function of the seed
//
// Images are kept as uint8 [N, C, H, W] (one byte a pixel, so CelebA fits in memory) and
// handed out as float in [0, 1]; toy points as float [N, 2].
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

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
  /// Keep the first `limit` examples of the split, in file order (0: all).
  int64_t limit = 0;
  /// Pad images with zeros to pad_to x pad_to, centred. -1 (auto): up to the next multiple
  /// of 8, since the U-Net halves the size three times (28x28 -> 32x32); 0: never.
  int64_t pad_to = -1;
  /// folder: crop, resize and channel options (see image_folder.h).
  int64_t crop = 0;
  int64_t resize = 0;
  int64_t channels = 0;
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
  torch::Tensor storage;             ///< uint8 [N, C, H, W] images, or float [N, D] points
  torch::Tensor labels;              ///< int64 [N]; undefined when the set has no labels
  std::vector<std::string> classes;  ///< class names by label, when known
  Padding padding;                   ///< what was added to reach the stored size

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

/// Pads [N, C, H, W] with zeros, centred, to `size` x `size` (the Padding records how).
torch::Tensor pad_images(const torch::Tensor& images, int64_t size, Padding* padding);

}  // namespace ddim
