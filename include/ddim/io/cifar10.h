// The binary version of CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html).
//
// A batch file is a sequence of 3073-byte records: one label byte (0..9), then 1024 red,
// 1024 green and 1024 blue bytes of a 32x32 image in row-major order. The official files
// hold 10000 records each (data_batch_1..5.bin, test_batch.bin).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ddim {

struct Cifar10Batch {
  torch::Tensor images;  ///< uint8 [N, 3, 32, 32]
  torch::Tensor labels;  ///< int64 [N], values 0..9
};

/// Reads one batch file. Throws ddim::Error naming the path when its size is not a positive
/// multiple of 3073 bytes or a label is out of range.
Cifar10Batch read_cifar10_batch(const std::string& path);

/// Parses the bytes of one batch file; `what` names the source in error messages.
Cifar10Batch parse_cifar10_batch(const std::vector<char>& bytes, const std::string& what);

/// The ten class names, in label order.
const std::vector<std::string>& cifar10_classes();

}  // namespace ddim
