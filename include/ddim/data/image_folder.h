// A folder of images (PNG, JPEG, BMP), searched recursively: the way users bring their own
// data, CelebA included.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ddim {

struct FolderOptions {
  /// Crop the central square of this side first (0: no crop). CelebA's aligned 178x218
  /// faces are usually cropped to 140 before resizing to 64.
  int64_t crop = 0;
  /// Resize to size x size after cropping (0: keep the size; then all images must agree).
  int64_t resize = 0;
  /// Channels of the result, 1 or 3 (0: 3 if any image has colour, else 1).
  int64_t channels = 0;
};

/// The image files under `dir`, recursively, sorted by path (so the order is stable).
/// Throws ddim::Error when `dir` is not a directory or holds no image.
std::vector<std::string> list_images(const std::string& dir);

/// Loads the files into uint8 [N, C, H, W], decoding in parallel. Throws ddim::Error naming
/// the first file that is corrupt or whose size differs from the first one's (suggesting
/// `resize`).
torch::Tensor load_images(const std::vector<std::string>& files, const FolderOptions& options);

}  // namespace ddim
