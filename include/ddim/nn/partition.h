// The code of a DiffuseGAE (Leng et al. 2023), z_dis, divided among the data's attributes:
// named parts of given sizes, and the part algebra of its losses and edits (swapping,
// reassembly). See ddim/methods/gae.h for the model as a whole.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace ddim {

/// How z_dis is divided: named parts of given sizes, in order. A part's name is one of the
/// data's attributes, or "rest" (dimensions assigned to no attribute, at most one such part).
class Partition {
 public:
  struct Part {
    std::string name;
    int64_t size = 0;
    int64_t offset = 0;  ///< first dimension of the part in z_dis
  };
  static const std::string kRest;  ///< "rest"

  Partition() = default;
  /// Parts in order; throws ddim::InvalidArgument for an empty list, a non-positive size, or
  /// a repeated name.
  explicit Partition(const std::vector<std::pair<std::string, int64_t>>& parts);

  /// Parses "letter:24,font:16,rest:8" against the data's attribute names (an unknown name is
  /// refused with the valid ones). A "rest" without a size takes what the others leave of
  /// `dim`; with `dim` > 0 the sizes must add up to it. Names alone ("letter,font,size") split
  /// `dim` into equal chunks (equal()).
  static Partition parse(const std::string& text, const std::vector<std::string>& attributes,
                         int64_t dim = 0);
  /// `names` over `dim` dimensions in chunks as equal as possible (the first dim % n one
  /// larger): the paper's Diff-AE baseline, z_sem split into one chunk per attribute.
  static Partition equal(const std::vector<std::string>& names, int64_t dim);

  const std::vector<Part>& parts() const { return parts_; }
  size_t size() const { return parts_.size(); }
  int64_t dim() const;
  /// The position of the part called `name`; throws ddim::InvalidArgument listing the parts.
  size_t index(const std::string& name) const;
  std::vector<std::string> names() const;
  /// The names of the attribute parts (all but "rest"), in order.
  std::vector<std::string> attributes() const;
  /// Part k of codes [N, dim()] -> [N, size].
  torch::Tensor part(const torch::Tensor& codes, size_t k) const;
  /// "letter:24,font:16,rest:8".
  std::string to_string() const;
  /// [{"name", "size"}, ...].
  nlohmann::json to_json() const;
  static Partition from_json(const nlohmann::json& j);

 private:
  std::vector<Part> parts_;
};

/// `a` [N, dim] with the parts named in `names` taken from `b` ([N, dim], or [1, dim] for
/// every row). Throws ddim::InvalidArgument for an unknown name or shapes that do not fit.
torch::Tensor swap_partitions(const torch::Tensor& a, const torch::Tensor& b, const Partition& partition,
                              const std::vector<std::string>& names);

/// Codes assembled part by part from rows of `codes` [B, dim]: row i of the result takes part
/// k from row sources[i][k] (int64 [B', parts]). The reassembly f of eq. 10.
torch::Tensor assemble_parts(const torch::Tensor& codes, const torch::Tensor& sources,
                             const Partition& partition);

/// The code of each centre rebuilt from its group GROUP(x_C, 1) (L_ss's third term): attribute
/// part j from member j's code (`members` [B, m, dim], member j sharing attribute j's value
/// with its centre), and the `rest` part, which no member is known to share, from the next
/// centre of the batch (row (i + 1) mod B of `centres` [B, dim], B >= 2). Taking the centre's
/// own rest would let every attribute hide in it.
torch::Tensor reassemble_group(const torch::Tensor& centres, const torch::Tensor& members,
                               const Partition& partition);

}  // namespace ddim
