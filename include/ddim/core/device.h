// Where computation runs, and on how many CPU threads.
#pragma once

#include <torch/torch.h>

#include <string>

#include "ddim/core/names.h"

namespace ddim {

/// Parses "auto", "cpu", "cuda" or "cuda:N". "auto" is the first GPU when this build has
/// CUDA and a GPU is visible, else the CPU. Asking for CUDA on a build or machine without
/// it throws ddim::Error at once, saying which of the two is missing.
torch::Device parse_device(const std::string& text);

/// True when this build of LibTorch was compiled with CUDA.
bool built_with_cuda();

/// The number of CPUs this process may run on (its affinity mask, so containers and
/// `taskset` are respected).
int available_cpus();

/// Sets LibTorch's intra-op thread count: `threads` > 0, or all available CPUs when 0.
/// Debian's LibTorch otherwise uses a single thread. Returns the count in effect.
int configure_threads(int threads);

/// Where fp32 work may run on TF32 tensor cores (Ampere and later GPUs; 10 mantissa bits
/// instead of 23). Conv: convolutions only, LibTorch's default, which the U-Net's speed rests
/// on; All: matrix products too (attention, MLPs, the Fréchet covariances); Off: full fp32.
/// No effect on the CPU.
enum class Tf32 { Conv, All, Off };
/// "conv", "all", "off".
DDIM_NAMED_ENUM(Tf32);
void set_tf32(Tf32 mode);

/// True when this CPU has bf16 arithmetic units (AVX512-BF16 or AMX, from /proc/cpuinfo),
/// where oneDNN's bf16 convolutions beat fp32; elsewhere bf16 is emulated and slower.
bool cpu_has_bf16_units();

/// A short description: "cpu (2 threads)" or "cuda:0 (NVIDIA H100 80GB HBM3)".
std::string describe_device(const torch::Device& device);

/// LibTorch's version, "1.13.1".
std::string torch_version();

}  // namespace ddim
