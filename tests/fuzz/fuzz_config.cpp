// --config files: ddim's TOML reader.
#include <string_view>

#include "ddim/io/config_file.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ddim::fuzz::run([&] {
    const auto file = ddim::parse_config(text, ddim::fuzz::kWhat);
    for (const auto& e : file.entries)
      if (e.values.size() != e.kinds.size() || (!e.array && e.values.size() != 1) || e.key.empty())
        ddim::fuzz::finding("inconsistent entry", e.key);
  });
  return 0;
}
