// Inputs of the commands that embed or reconstruct images: image files, images in a .pt file,
// or a split of a data set (by default the model's own training data, test split), fitted to
// the model's shape.
#pragma once

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "ddim/data/dataset.h"

namespace ddim::cli {

struct InputArgs {
  std::vector<std::string> images;
  std::string tensor;
  DataSource data;
};

/// Declares --images, --tensor and the data options (default: the model's data, test split,
/// first `limit` examples).
void add_input_options(CLI::App* sub, InputArgs& args, int64_t limit = 64);

struct Inputs {
  torch::Tensor images;            ///< [N, C, H, W] in [0, 1], the model's shape (padded)
  std::vector<std::string> names;  ///< file names, or "test[i]"
  torch::Tensor labels;            ///< [N] when the data set has labels
  /// The data split the images came from (null for --images and --tensor): its attributes
  /// and generator ids let a command render counterfactuals (data/counterfactual.h).
  std::shared_ptr<const Dataset> data;
};

Inputs load_inputs(const InputArgs& args, const DataInfo& model);

/// The inputs as they would be with `attribute` set to `values[i]` for input `rows[i]` and nothing else
/// changed (data/counterfactual.h), fitted and cropped like the model's outputs: [N, C, H, W] in [0, 1].
/// Undefined when the inputs do not come from a data set that renders counterfactuals (fonts, faces).
torch::Tensor true_images(const Inputs& in, const std::vector<int64_t>& rows, const std::string& attribute,
                          const std::vector<std::string>& values, const DataInfo& model);

/// The data source for `model`: `args` with the model's data when none was named (padding as
/// the model's, for images).
DataSource model_data(DataSource args, const DataInfo& model);

/// Loads seeds for `model`: [N, *shape], or a single seed [*shape], or a cloud
/// [images, K, *shape] (flattened to [images * K, *shape]). Throws ddim::InvalidArgument
/// naming the file when the shape does not fit.
torch::Tensor load_seeds(const std::string& path, const DataInfo& model);

}  // namespace ddim::cli
