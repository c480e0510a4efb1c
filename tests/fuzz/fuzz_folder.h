// A scratch folder, made once per fuzz process and emptied for every input, for the targets
// whose readers take a folder rather than bytes (faces, attributes). Its last component is
// kWhat, so a message that names any file under it names the input.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_common.h"

namespace ddim::fuzz {

/// DIR/fuzz-input under a fresh /tmp/ddim-fuzz-NAME-XXXXXX, removed at exit.
inline std::string scratch_folder(const std::string& name) {
  std::string tmpl = "/tmp/ddim-fuzz-" + name + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  static std::string root;
  root = tmpl;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  });
  return root + "/" + kWhat;
}

/// Removes everything under `dir` and makes it again, empty.
inline void empty_folder(const std::string& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
}

inline void write_bytes(const std::string& path, const char* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(data, static_cast<std::streamsize>(size));
  if (!out) std::abort();
}

}  // namespace ddim::fuzz
