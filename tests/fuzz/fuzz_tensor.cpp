// `.pt` files of tensors (seeds, images, codes): a whole file when the input is a zip archive
// ("PK"), else a pickle stream served with fixed storage records (so that mutations reach the
// unpickler instead of failing the archive's CRC checks).
#include <string_view>
#include <vector>

#include "ddim/io/tensor_io.h"
#include "fuzz_common.h"
#include "io/pt_reader.h"
#include "tiny_models.h"

namespace {
std::map<std::string, std::vector<char>>* g_records = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  g_records = new std::map<std::string, std::vector<char>>(ddim::fuzz::fixed_records());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (g_records == nullptr) LLVMFuzzerInitialize(nullptr, nullptr);
  const std::vector<char> bytes(data, data + size);
  const auto& what = ddim::fuzz::kWhat;
  ddim::fuzz::run([&] {
    c10::IValue value;
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
      value = ddim::unpickle_bytes(bytes, what);
    } else {
      const ddim::detail::RecordReader records = [](const std::string& key,
                                                    int64_t) -> std::optional<std::vector<char>> {
        const auto it = g_records->find(key);
        if (it == g_records->end()) return std::nullopt;
        return it->second;
      };
      value = ddim::detail::unpickle_stream(std::string_view(bytes.data(), bytes.size()), records, what,
                                            ddim::input_limits().max_bytes);
    }
    if (value.isTensor()) {
      const auto t = value.toTensor();
      (void)t.sum().item<double>();  // every element is readable
      (void)ddim::seeds_from_value(value, {1, 8, 8}, what);
    } else if (value.isGenericDict()) {
      for (const auto& e : value.toGenericDict())
        if (e.value().isTensor())
          ddim::validate_tensor(e.value().toTensor(), ddim::TensorRules::finite_floats(), what);
    }
  });
  return 0;
}
