// Tensors on disk as `.pt` files.
//
// ddim writes seeds, image batches and exported weights with LibTorch's pickle format, the
// one Python's `torch.load` reads, so every file a command writes opens in Python:
//   seeds = torch.load("run/seeds.pt")
// and files written by `torch.save(tensor_or_dict_of_tensors, path)` load back here.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

namespace ddim {

/// Saves one tensor (moved to the CPU, made contiguous), atomically.
void save_tensor(const std::string& path, const torch::Tensor& tensor);

/// Loads a tensor saved by save_tensor or by Python's torch.save(tensor). Throws
/// ddim::Error naming the path if the file is missing, corrupt, or holds no tensor.
torch::Tensor load_tensor(const std::string& path);

/// A dictionary of named tensors (Python: dict[str, Tensor]); kept sorted by name.
using TensorDict = std::map<std::string, torch::Tensor>;

/// Saves a dictionary of tensors, atomically; Python's torch.load returns a dict.
void save_tensor_dict(const std::string& path, const TensorDict& tensors);

/// Loads a dictionary saved by save_tensor_dict or by torch.save({...}) in Python.
TensorDict load_tensor_dict(const std::string& path);

/// Serialises an IValue to bytes of the `.pt` format (for embedding in other containers).
std::vector<char> pickle_bytes(const c10::IValue& value);

/// Parses bytes of the `.pt` format. `what` names the source in error messages.
c10::IValue unpickle_bytes(const std::vector<char>& bytes, const std::string& what);

}  // namespace ddim
