// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), raw or
// gzipped.
//
// Header: two zero bytes, a type byte (0x08 = unsigned byte, the only type these sets use),
// a dimension count d, then d big-endian 32-bit sizes; the data follow, and their length
// must equal the product of the sizes.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ddim {

/// Reads an IDX file of unsigned bytes (gzipped when it starts with the gzip magic) into a
/// uint8 tensor with the file's dimensions. Throws ddim::Error naming the path on a
/// truncated or corrupt gzip stream, a wrong magic number, or sizes that do not match.
torch::Tensor read_idx(const std::string& path);

/// Parses IDX bytes (already decompressed); `what` names the source in error messages.
torch::Tensor parse_idx(const std::vector<char>& bytes, const std::string& what);

/// Decompresses a whole gzip file in memory. Throws ddim::Error naming `what` when the
/// stream is truncated or fails its CRC, and ddim::InvalidArgument when it inflates to more
/// than `max_bytes` (default: input_limits().max_bytes; a gzip bomb).
std::vector<char> gunzip(const std::vector<char>& compressed, const std::string& what);
std::vector<char> gunzip(const std::vector<char>& compressed, const std::string& what, int64_t max_bytes);

/// True when the bytes start with the gzip magic number.
bool is_gzip(const std::vector<char>& bytes);

}  // namespace ddim
