// Counterfactuals: an example of a generated data set as it would be with one attribute set to
// another value and everything else the same. Fonts draw every image from its attribute tuple
// (fonts.h) and faces from their index (faces.h), so both sets can answer "what should this
// edit or this swap have produced?" exactly, which no photographed data set can: edits
// (methods/editing.h) and attribute swaps (methods/attribute_swap.h) are scored against it.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "ddim/data/dataset.h"

namespace ddim {

/// Whether the examples of `data` can be rendered again with an attribute changed: a fonts or
/// faces set (it has generator ids).
bool has_counterfactuals(const Dataset& data);

/// Example `rows[i]` of `data` with `attribute` set to `values[i]` (a value name; the example's
/// own value reproduces the example): uint8 [N, C, H, W], shaped, resized and padded as
/// `data.storage` (the image side and channels are read off the data, the set from its spec).
/// Throws ddim::InvalidArgument when the set has no counterfactuals, or naming an unknown
/// attribute, value or row.
torch::Tensor counterfactuals(const Dataset& data, const std::vector<int64_t>& rows,
                              const std::string& attribute, const std::vector<std::string>& values);

}  // namespace ddim
