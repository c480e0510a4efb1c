// PNG, JPEG and BMP: decode_image, then what ddim does with a user image (fit it to a model).
#include <vector>

#include "ddim/diffusion/pipeline.h"
#include "ddim/io/image.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<char> bytes(data, data + size);
  ddim::fuzz::run([&] {
    const auto image = ddim::decode_image(bytes, ddim::fuzz::kWhat);
    ddim::DataInfo model;
    model.shape = {3, 32, 32};
    model.padding = {2, 2, 2, 2};
    (void)ddim::conform_images({image}, model);
  });
  return 0;
}
