// Checkpoints: a whole `.pt` file when the input is a zip archive ("PK"), else the pickle of a
// checkpoint served with the storage records of a real one (a 1x8x8 U-Net denoiser), so that
// mutations reach the layout, the JSON metadata and the network they describe.
#include <unistd.h>

#include <cstdio>
#include <string_view>
#include <vector>

#include "ddim/core/file.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "fuzz_common.h"
#include "io/pt_reader.h"
#include "tiny_models.h"

namespace {
std::map<std::string, std::vector<char>>* g_records = nullptr;

// The records of the tiny checkpoint, keyed as in its archive.
std::map<std::string, std::vector<char>> checkpoint_records() {
  char name[] = "/tmp/ddim-fuzz-checkpoint-XXXXXX";
  const int fd = mkstemp(name);
  if (fd < 0) std::abort();
  close(fd);
  ddim::save_checkpoint(name, ddim::fuzz::tiny_denoiser_checkpoint());
  const auto bytes = ddim::read_file(name);
  std::remove(name);
  const ddim::detail::ZipView zip(std::string_view(bytes.data(), bytes.size()), name);
  std::map<std::string, std::vector<char>> records;
  for (const auto& e : zip.entries()) {
    const auto at = e.name.find("/data/");
    if (at != std::string::npos) records[e.name.substr(at + 6)] = zip.read(e, int64_t{1} << 30);
  }
  return records;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  g_records = new std::map<std::string, std::vector<char>>(checkpoint_records());
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
    const auto ck = ddim::checkpoint_from_value(value, what);
    (void)ddim::denoiser_fingerprint(ck);
    if (ck.kind() == "denoiser") {
      const auto d = ddim::denoiser_from_checkpoint(ck, what);
      (void)d.describe();
    }
  });
  return 0;
}
