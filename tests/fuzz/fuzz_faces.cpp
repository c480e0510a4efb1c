// Rendered faces sets (faces.h), through load_dataset("faces:DIR"): the input becomes a set's
// folder, so that mutations reach the manifest, the attributes file and the folder layout
// together. Bytes 0 and 1: how many images train/ and test/ hold (at most 9 and 3); byte 2:
// how the images are named and loaded (bits 0-1 shift every index, bit 2 asks for the test
// split, bit 3 for `--limit 2`, bit 4 for `--where male=yes`); the rest: faces.json, a NUL
// byte, attributes.csv. The images are one valid 16x16 PNG: the manifest's numbers must be
// checked against the folder before they size any work.
#include <cstdio>
#include <string>

#include "ddim/data/dataset.h"
#include "ddim/io/image.h"
#include "fuzz_folder.h"

namespace {
std::string* g_dir = nullptr;
std::string* g_png = nullptr;

void write_images(const std::string& dir, int64_t n, bool test, int64_t shift) {
  std::filesystem::create_directories(dir);
  for (int64_t i = 0, k = 0; k < n; ++i) {
    if ((i % 10 == 9) != test) continue;
    char name[32];
    std::snprintf(name, sizeof name, "/%06lld.png", static_cast<long long>(i + shift));
    ddim::fuzz::write_bytes(dir + name, g_png->data(), g_png->size());
    ++k;
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  g_dir = new std::string(ddim::fuzz::scratch_folder("faces"));
  g_png = new std::string(ddim::encode_png(torch::full({3, 16, 16}, 0.5)));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (g_dir == nullptr) LLVMFuzzerInitialize(nullptr, nullptr);
  if (size < 3) return 0;
  const auto& dir = *g_dir;
  ddim::fuzz::empty_folder(dir);
  const int64_t train = data[0] % 10, test = data[1] % 4, flags = data[2];
  const std::string rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  const auto nul = rest.find('\0');
  const auto manifest = rest.substr(0, nul);
  ddim::fuzz::write_bytes(dir + "/faces.json", manifest.data(), manifest.size());
  if (nul != std::string::npos) {
    const auto table = rest.substr(nul + 1);
    ddim::fuzz::write_bytes(dir + "/attributes.csv", table.data(), table.size());
  }
  write_images(dir + "/train", train, false, flags & 3);
  write_images(dir + "/test", test, true, flags & 3);
  ddim::DataOptions o;
  o.split = flags & 4 ? ddim::Split::Test : ddim::Split::Train;
  if (flags & 8) o.limit = 2;
  if (flags & 16) o.where = {"male=yes"};
  ddim::fuzz::run([&] { (void)ddim::load_dataset(ddim::parse_data_spec("faces:" + dir), o); }, true);
  return 0;
}
