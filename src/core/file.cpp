#include "ddim/core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "ddim/core/error.h"

namespace fs = std::filesystem;

namespace ddim {

std::vector<char> read_file(const std::string& path) {
  std::error_code ec;
  DDIM_CHECK(fs::exists(path, ec), "{}: no such file", path);
  DDIM_CHECK(!fs::is_directory(path, ec), "{}: is a directory, expected a file", path);
  std::ifstream in(path, std::ios::binary);
  DDIM_CHECK(in.good(), "{}: cannot open: {}", path, std::strerror(errno));
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::streamoff>(in.tellg());
  in.seekg(0, std::ios::beg);
  std::vector<char> bytes(static_cast<size_t>(size));
  if (size > 0) in.read(bytes.data(), size);
  DDIM_CHECK(in.good() || in.eof(), "{}: read error", path);
  return bytes;
}

void make_directories(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  fs::create_directories(path, ec);
  DDIM_CHECK(!ec && fs::is_directory(path), "{}: cannot create directory: {}", path,
             ec ? ec.message() : "a file is in the way");
}

void write_file_atomic(const std::string& path, std::string_view data) {
  const fs::path target(path);
  if (target.has_parent_path()) make_directories(target.parent_path().string());
  // A unique temporary name in the same directory, so that rename() is atomic.
  std::random_device rd;
  const std::string tmp = fmt::format("{}.tmp-{}-{:08x}", path, ::getpid(), rd());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  DDIM_CHECK(fd >= 0, "{}: cannot write: {}", path, std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      DDIM_FAIL("{}: write failed: {}", path, std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_err = errno;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    const int err = synced ? errno : sync_err;
    ::unlink(tmp.c_str());
    DDIM_FAIL("{}: write failed: {}", path, std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    DDIM_FAIL("{}: cannot replace: {}", path, std::strerror(err));
  }
}

}  // namespace ddim
