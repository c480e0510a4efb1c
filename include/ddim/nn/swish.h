// Swish (SiLU), x sigmoid(x): the activation of the paper's networks (keras.io's DDIM example
// and the seed paper's code use keras.activations.swish).
//
// In training it is a pass over every convolution's output, forward and backward. LibTorch 1.13
// runs it in bf16 as two or three passes with slow bf16 kernels (its sigmoid, and the products of
// its backward: issue 41's profile of a bf16 training step showed 28 ms of 400). ddim's kernel
// makes one pass each way on the CPU, in fp32 arithmetic rounded once to the tensor's type:
//   forward  y  = x s,                   s = 1 / (1 + e^-x),
//   backward dx = dy s (1 + x (1 - s)),  the derivative of x s,
// recomputing s from x, so that only x is kept for the backward pass.
#pragma once

#include <torch/torch.h>

namespace ddim {

/// x sigmoid(x), differentiable (twice, through LibTorch's operations for the second
/// derivative). fp32 and bf16 tensors on the CPU, contiguous or channels-last, run ddim's kernels
/// (AVX-512 or AVX2, chosen at run time); anything else runs torch::silu.
torch::Tensor swish(const torch::Tensor& x);

/// True when swish(x) runs ddim's kernel for this tensor.
bool swish_kernel_applies(const torch::Tensor& x);

}  // namespace ddim
