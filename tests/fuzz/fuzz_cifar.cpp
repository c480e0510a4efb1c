// CIFAR-10 binary batches: read_cifar10_batch without the file.
#include <vector>

#include "ddim/io/cifar10.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<char> bytes(data, data + size);
  ddim::fuzz::run([&] {
    const auto batch = ddim::parse_cifar10_batch(bytes, ddim::fuzz::kWhat);
    (void)batch.images.sum().item<int64_t>();
  });
  return 0;
}
