// Attributes files beside a folder of images (attributes.h): the input is the file, read with
// read_attribute_table and matched with attributes_for_files against a fixed folder listing
// (a.png, b.png, sub/a.png, sub/c.png; no image is decoded), so that mutations reach both
// layouts (CSV, CelebA), the row checks and the matching of file names.
#include <string>
#include <vector>

#include "ddim/data/attributes.h"
#include "fuzz_folder.h"

namespace {
std::string* g_dir = nullptr;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  g_dir = new std::string(ddim::fuzz::scratch_folder("attributes"));
  ddim::fuzz::empty_folder(*g_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (g_dir == nullptr) LLVMFuzzerInitialize(nullptr, nullptr);
  const auto& dir = *g_dir;
  const std::string path = dir + "/attributes.csv";
  ddim::fuzz::write_bytes(path, reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> all = {dir + "/a.png", dir + "/b.png", dir + "/sub/a.png",
                                        dir + "/sub/c.png"};
  ddim::fuzz::run(
      [&] {
        const auto table = ddim::read_attribute_table(path);
        // The whole folder, then two of its images (what a split or --limit asks for).
        (void)ddim::attributes_for_files(table, dir, all, all);
        (void)ddim::attributes_for_files(table, dir, all, {all[1], all[3]});
      },
      true);
  return 0;
}
