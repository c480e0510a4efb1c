// Where the time goes: a per-operator profile of some work (LibTorch's operator profiler),
// its convolution and matrix-product FLOPs, and the machine's own matrix-product rate to
// compare them with. `ddim bench train|sample --profile` prints these tables.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ddim {

/// One operator's share of the work: its self time (excluding the operators it called).
struct OpCost {
  std::string name;   ///< "aten::mkldnn_convolution", ...
  std::string group;  ///< convolution, batch norm, SiLU, add, concatenation, upsampling, ... (op_group)
  int64_t calls = 0;
  double self_us = 0;  ///< microseconds on the calling threads, excluding child operators
  double flops = 0;    ///< multiply-adds x 2 of convolutions and matrix products; 0 for others
};

struct OpProfile {
  std::vector<OpCost> ops;  ///< by self time, largest first
  double total_us = 0;      ///< the sum of every operator's self time
  double wall_s = 0;        ///< wall seconds of the work
  double flops = 0;         ///< the convolutions' and matrix products' FLOPs

  /// Self time and FLOPs by group, largest first.
  std::vector<OpCost> by_group() const;
};

/// The group an operator belongs to in the tables ("convolution" for aten::convolution,
/// aten::mkldnn_convolution and their backward; "other" for what is not named).
std::string op_group(const std::string& name);

/// Runs `work` once under LibTorch's CPU operator profiler (with input shapes, for the FLOPs)
/// and returns every operator's self time. FLOPs assume what ddim's networks use:
/// convolutions whose output has the input's height and width (stride 1, same padding); a
/// convolution's backward counts twice its forward (the input's and the weights' gradients: a
/// convolution_backward that computes only one is overcounted); Winograd's convolutions and
/// weight gradients (nn/winograd.h) count as the direct convolution's FLOPs, once each.
OpProfile profile_ops(const std::function<void()>& work);

/// The machine's matrix-product rate in GFLOP/s: n x n by n x n products in `dtype` (kFloat or
/// kBFloat16) on LibTorch's threads, repeated for about `seconds` after a warm-up.
double gemm_gflops(int64_t n = 2048, torch::ScalarType dtype = torch::kFloat, double seconds = 1.0);

/// The CPU's model name and its vector extensions that matter here ("AMD EPYC ...; avx2
/// avx512f avx512_bf16"), from /proc/cpuinfo.
std::string cpu_description();

}  // namespace ddim
