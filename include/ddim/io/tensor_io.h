// Tensors on disk as `.pt` files.
//
// ddim writes seeds, image batches and exported weights with LibTorch's pickle format, the
// one Python's `torch.load` reads, so every file a command writes opens in Python:
//   seeds = torch.load("run/seeds.pt")
// and files written by `torch.save(tensor_or_dict_of_tensors, path)` load back here.
//
// Reading is ddim's own bounded code (src/io/pt_reader.h), never LibTorch's unpickler: files made
// by other people may be hostile. Every tensor read is checked before it exists (a supported
// dtype: bool, integer or real floating point; sizes, strides and offset inside its storage;
// the storage no larger than its record on disk; the whole file within
// input_limits().max_bytes), and each use adds its own TensorRules (dtypes, rank, element
// count, finite values, a value range). Errors are one line, "<path>: <tensor>: <problem>":
// ddim::InvalidArgument (exit status 2) for a file that parses but is unacceptable, ddim::Error
// (exit status 1) for one that is truncated or corrupt.
#pragma once

#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ddim {

/// What one use accepts of a tensor read from a file.
struct TensorRules {
  /// Accepted dtypes; empty: any the reader supports.
  std::vector<torch::ScalarType> dtypes;
  /// Accepted ranks.
  int64_t min_dim = 0, max_dim = 16;
  /// At least one element (and, for rank >= 1, at least one row).
  bool non_empty = false;
  /// At most this many elements (0: only the reader's byte limit).
  int64_t max_elements = 0;
  /// Convert to float32 before the value checks (and return float32).
  bool to_float32 = false;
  /// Floating-point values must be finite: no NaN, no infinity.
  bool finite = false;
  /// Values must lie in [first, second].
  std::optional<std::pair<double, double>> range;

  /// float16, bfloat16, float32 or float64, non-empty, finite, returned as float32: seeds,
  /// codes, images.
  static TensorRules finite_floats();
};

/// The floating-point dtypes (float16, bfloat16, float32, float64).
const std::vector<torch::ScalarType>& floating_dtypes();

/// Checks `tensor` against `rules`. Throws ddim::InvalidArgument "<what>: <name>: <problem>"
/// (without the name part when `name` is empty), e.g.
/// "seeds.pt: 3 of 3072 values are NaN or infinite (the first at [0, 0, 1, 7])".
void validate_tensor(const torch::Tensor& tensor, const TensorRules& rules, const std::string& what,
                     const std::string& name = "");

/// Saves one tensor (moved to the CPU, made contiguous), atomically.
void save_tensor(const std::string& path, const torch::Tensor& tensor);

/// Loads a tensor saved by save_tensor or by Python's torch.save(tensor), checked against
/// `rules` (converted to float32 first when the rules say so). Throws as described above, also
/// when the file is missing or holds no tensor.
torch::Tensor load_tensor(const std::string& path, const TensorRules& rules = {});

/// Seeds for a model whose examples have `shape` ({C, H, W} or {D}): a file holding seeds
/// [N, *shape], one seed [*shape] or a cloud [images, K, *shape] (flattened to
/// [images * K, *shape]); floating point (converted to float32), non-empty and finite. Throws
/// ddim::InvalidArgument naming the file otherwise.
torch::Tensor load_seeds(const std::string& path, const std::vector<int64_t>& shape);

/// The checks of load_tensor and load_seeds on a value from unpickle_bytes (`what` names
/// its source).
torch::Tensor tensor_from_value(const c10::IValue& value, const TensorRules& rules, const std::string& what);
torch::Tensor seeds_from_value(const c10::IValue& value, const std::vector<int64_t>& shape,
                               const std::string& what);

/// Images [N, C, H, W] with C = 1 or 3, N >= 1, floating point with values in [0, 1] (e.g. the
/// samples.pt that `ddim sample` writes), as float32; H x W within input_limits().
torch::Tensor load_image_batch(const std::string& path);

/// A dictionary of named tensors (Python: dict[str, Tensor]); kept sorted by name.
using TensorDict = std::map<std::string, torch::Tensor>;

/// Saves a dictionary of tensors, atomically; Python's torch.load returns a dict.
void save_tensor_dict(const std::string& path, const TensorDict& tensors);

/// Loads a dictionary saved by save_tensor_dict or by torch.save({...}) in Python, each
/// tensor checked against `rules` (messages name the tensor).
TensorDict load_tensor_dict(const std::string& path, const TensorRules& rules = {});

/// Serialises an IValue to bytes of the `.pt` format (for embedding in other containers).
std::vector<char> pickle_bytes(const c10::IValue& value);

/// Parses bytes of the `.pt` format with the checks described above; `what` names the source
/// in error messages. The result holds only None, bools, integers, floats, strings, tensors,
/// tuples, lists and dictionaries (with string or integer keys), nested at most 64 deep.
c10::IValue unpickle_bytes(const std::vector<char>& bytes, const std::string& what);

}  // namespace ddim
