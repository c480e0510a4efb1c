#include "ddim/tensor_io.h"

#include "ddim/error.h"
#include "ddim/file.h"

namespace ddim {

std::vector<char> pickle_bytes(const c10::IValue& value) { return torch::pickle_save(value); }

c10::IValue unpickle_bytes(const std::vector<char>& bytes, const std::string& what) {
  DDIM_CHECK(!bytes.empty(), "{}: file is empty", what);
  try {
    return torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    // LibTorch's message spans many lines with a C++ backtrace; keep its first line.
    std::string first = e.what_without_backtrace();
    first = first.substr(0, first.find('\n'));
    DDIM_FAIL("{}: not a readable .pt file (truncated or corrupt?): {}", what, first);
  }
}

void save_tensor(const std::string& path, const torch::Tensor& tensor) {
  DDIM_CHECK_ARG(tensor.defined(), "{}: cannot save an undefined tensor", path);
  const auto bytes = pickle_bytes(tensor.detach().to(torch::kCPU).contiguous());
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

torch::Tensor load_tensor(const std::string& path) {
  const auto value = unpickle_bytes(read_file(path), path);
  DDIM_CHECK(value.isTensor(), "{}: holds a {}, expected a tensor", path, value.tagKind());
  return value.toTensor();
}

void save_tensor_dict(const std::string& path, const TensorDict& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t.detach().to(torch::kCPU).contiguous());
  const auto bytes = pickle_bytes(dict);
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

TensorDict load_tensor_dict(const std::string& path) {
  const auto value = unpickle_bytes(read_file(path), path);
  DDIM_CHECK(value.isGenericDict(), "{}: holds a {}, expected a dict of tensors", path, value.tagKind());
  TensorDict out;
  for (const auto& entry : value.toGenericDict()) {
    DDIM_CHECK(entry.key().isString() && entry.value().isTensor(),
               "{}: expected a dict from names to tensors", path);
    out[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return out;
}

}  // namespace ddim
