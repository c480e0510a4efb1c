// What each data set's loader hands load_dataset (dataset.cpp): one split's examples as the
// files hold them, before standardisation and padding. Private to src/data/.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ddim/data/attributes.h"
#include "ddim/data/dataset.h"

namespace ddim {

struct Part {
  torch::Tensor images, labels;
  std::vector<Attribute> attributes;
  std::string default_attribute;     // the label attribute when none is asked for
  std::vector<std::string> classes;  // class names by label, when the part knows them
  torch::Tensor ids;                 // each example's index in its generator (fonts, faces)
};

inline bool is_dir(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec);
}

/// The examples that meet DataOptions::where (int64 indices, in order), at most `limit` of
/// them. Throws ddim::InvalidArgument naming `what` when none does.
torch::Tensor select_where(const DataOptions& o, const std::vector<Attribute>& attributes,
                           const std::string& what);

/// items[indices[0]], items[indices[1]], ...
template <class T>
std::vector<T> pick_items(const std::vector<T>& items, const torch::Tensor& indices) {
  std::vector<T> out;
  const auto idx = indices.contiguous();
  for (int64_t i = 0; i < idx.size(0); ++i) out.push_back(items[static_cast<size_t>(idx[i].item<int64_t>())]);
  return out;
}

/// An image folder (image_folder.cpp), a fonts set (fonts.cpp), a rendered faces set (faces.cpp).
Part load_folder_part(const std::string& dir, Split split, const DataOptions& o);
Part load_fonts_part(const std::string& font_dir, const DataOptions& o);
Part load_faces_part(const std::string& dir, Split split, const DataOptions& o);

}  // namespace ddim
