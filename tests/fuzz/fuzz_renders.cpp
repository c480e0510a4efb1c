// The faces renderer's output as ddim reads it back (parse_face_renders): the renderer is
// another program, and what it wrote may be short, long, or labelled wrongly. The first two
// bytes choose the number of faces (1 to 4) and their side (1 to 16 pixels); the rest up to a
// NUL byte is the labels file, the bytes after it the pixels file.
#include <algorithm>
#include <vector>

#include "ddim/data/faces.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int64_t n = 1 + data[0] % 4, side = 1 + data[1] % 16;
  const auto* begin = data + 2;
  const auto* end = data + size;
  const auto* nul = std::find(begin, end, uint8_t{0});
  const std::vector<char> labels(begin, nul);
  const std::vector<char> pixels(nul == end ? end : nul + 1, end);
  ddim::fuzz::run(
      [&] {
        const auto r = ddim::parse_face_renders(pixels, labels, n, side);
        if (r.images.size(0) != n || r.images.size(2) != side ||
            static_cast<int64_t>(r.attributes.size()) != n)
          ddim::fuzz::finding("wrong shape", "the faces read back are not the ones asked for");
      },
      true, "the faces renderer");
  return 0;
}
