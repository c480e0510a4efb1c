// GROUP(x_C, 1) of DiffuseGAE (Leng et al. 2023, eq. 9): groups of examples drawn from the
// data's attribute labels, for the GAE's losses (ddim/training/gae_losses.h) and the swap
// evaluation (ddim/methods/attribute_swap.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace ddim {

/// GROUP(x_C, 1) (eq. 9) from attribute labels: for each centre and each attribute, a member
/// with the same value of that attribute (another example than the centre when the value has
/// one), uniformly among them. The paper asks the members to share exactly one value with the
/// centre; on a subset of the data such a member often does not exist, and uniform members
/// rarely share more than one (only attributes with few values, like size, often coincide).
/// Draws are a pure function of (seed, step), like EpochOrder's, so a resumed run draws what
/// the uninterrupted run drew.
class GroupSampler {
 public:
  /// labels: int64 [N] per attribute (the partition's attribute parts, in order).
  GroupSampler(const std::vector<torch::Tensor>& labels, uint64_t seed);
  /// Members int64 [B, m] of centres int64 [B] at `step`. With several data-parallel processes
  /// the draws are those of the global batch of B * world centres, of which this process
  /// (`rank`) holds rows [rank B, (rank + 1) B).
  torch::Tensor members(const torch::Tensor& centres, int64_t step, int64_t world = 1,
                        int64_t rank = 0) const;
  /// The reassembly of L_ur at `step`: int64 [batch, parts], column k a random permutation of
  /// 0..batch-1.
  torch::Tensor reassembly(int64_t batch, int64_t parts, int64_t step) const;
  int64_t attributes() const { return static_cast<int64_t>(by_value_.size()); }

 private:
  uint64_t seed_;
  std::vector<torch::Tensor> labels_;     ///< per attribute: int64 [N]
  std::vector<torch::Tensor> by_value_;   ///< per attribute: example indices sorted by value
  std::vector<torch::Tensor> starts_;     ///< per attribute: int64 [values + 1] offsets into by_value_
  std::vector<torch::Tensor> positions_;  ///< per attribute: each example's position in by_value_
};

}  // namespace ddim
