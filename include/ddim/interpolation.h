// Paths between seeds (seed paper section 5.3, Fig. 19; Diff-AE section 4 uses slerp for x_T).
#pragma once

#include <torch/torch.h>

#include <string>

namespace ddim {

enum class Interpolation { Lerp, Slerp };
std::string to_string(Interpolation m);
Interpolation interpolation_from_string(const std::string& s);

/// `frames` points from a to b (both included), [frames, *a.shape]:
///  lerp:  (1 - l) a + l b;
///  slerp: (sin((1 - l) w) a + sin(l w) b) / sin(w), w the angle between a and b (flattened);
///         lerp when they are (anti)parallel.
torch::Tensor interpolate_seeds(const torch::Tensor& a, const torch::Tensor& b, int64_t frames,
                                Interpolation mode);

/// One point at fraction l.
torch::Tensor interpolate_seed(const torch::Tensor& a, const torch::Tensor& b, double l, Interpolation mode);

}  // namespace ddim
