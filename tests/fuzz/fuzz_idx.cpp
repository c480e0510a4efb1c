// IDX files (MNIST, Fashion-MNIST), raw or gzipped: read_idx without the file.
#include <vector>

#include "ddim/io/idx.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> bytes(data, data + size);
  ddim::fuzz::run([&] {
    if (ddim::is_gzip(bytes)) bytes = ddim::gunzip(bytes, ddim::fuzz::kWhat);
    const auto t = ddim::parse_idx(bytes, ddim::fuzz::kWhat);
    if (t.numel() > 0) (void)t.sum().item<int64_t>();
  });
  return 0;
}
