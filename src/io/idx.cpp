#include "ddim/io/idx.h"

#include <zlib.h>

#include <cstring>

#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/limits.h"

namespace ddim {

bool is_gzip(const std::vector<char>& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::vector<char> gunzip(const std::vector<char>& compressed, const std::string& what) {
  return gunzip(compressed, what, input_limits().max_bytes);
}

std::vector<char> gunzip(const std::vector<char>& compressed, const std::string& what, int64_t max_bytes) {
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip wrapper, whose CRC-32 and length zlib verifies.
  DDIM_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "{}: cannot start gzip decoder", what);
  std::vector<char> out;
  // The gzip trailer stores the uncompressed size modulo 2^32: a good first guess.
  if (compressed.size() >= 4) {
    const auto* tail = reinterpret_cast<const unsigned char*>(compressed.data() + compressed.size() - 4);
    const uint32_t isize =
        uint32_t(tail[0]) | (uint32_t(tail[1]) << 8) | (uint32_t(tail[2]) << 16) | (uint32_t(tail[3]) << 24);
    // Deflate expands at most 1032:1; the trailer is only a hint.
    const uint64_t plausible = std::min<uint64_t>(uint64_t(compressed.size()) * 1032, uint64_t(max_bytes));
    out.reserve(std::min<uint64_t>(isize, plausible) + 1);
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  int rc = Z_OK;
  constexpr size_t kChunk = size_t(1) << 20;
  while (rc == Z_OK) {
    const size_t used = out.size();
    if (used >= static_cast<uint64_t>(max_bytes)) {
      inflateEnd(&zs);
      DDIM_CHECK_ARG(false, "{}: gzip data inflate to more than the limit of {} bytes", what, max_bytes);
    }
    const size_t chunk = std::min<uint64_t>(kChunk, uint64_t(max_bytes) - used);
    out.resize(used + chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(used + (chunk - zs.avail_out));
  }
  const std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  DDIM_CHECK(rc != Z_BUF_ERROR, "{}: truncated gzip file (the compressed stream ends early)", what);
  DDIM_CHECK(rc == Z_STREAM_END, "{}: corrupt gzip file ({})", what, msg.empty() ? "bad data" : msg);
  return out;
}

torch::Tensor parse_idx(const std::vector<char>& bytes, const std::string& what) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  DDIM_CHECK(bytes.size() >= 4, "{}: too short for an IDX header ({} bytes)", what, bytes.size());
  DDIM_CHECK(p[0] == 0 && p[1] == 0, "{}: not an IDX file (wrong magic number 0x{:02x}{:02x}{:02x}{:02x})",
             what, p[0], p[1], p[2], p[3]);
  DDIM_CHECK(p[2] == 0x08, "{}: IDX data type 0x{:02x} is not supported (expected 0x08, unsigned bytes)",
             what, p[2]);
  const int dims = p[3];
  DDIM_CHECK(dims >= 1 && dims <= 4, "{}: IDX file declares {} dimensions (expected 1 to 4)", what, dims);
  const size_t header = 4 + 4 * static_cast<size_t>(dims);
  DDIM_CHECK(bytes.size() >= header, "{}: truncated IDX header", what);
  std::vector<int64_t> sizes;
  uint64_t count = 1;
  bool overflow = false;
  for (int d = 0; d < dims; ++d) {
    const auto* q = p + 4 + 4 * d;
    const uint32_t s = (uint32_t(q[0]) << 24) | (uint32_t(q[1]) << 16) | (uint32_t(q[2]) << 8) | q[3];
    sizes.push_back(s);
    overflow = overflow || __builtin_mul_overflow(count, uint64_t{s}, &count);
  }
  // The data must be in the file, so this only guards the arithmetic.
  DDIM_CHECK(!overflow && count <= uint64_t(input_limits().max_bytes),
             "{}: IDX sizes {} are implausibly large", what, fmt::join(sizes, "x"));
  DDIM_CHECK(bytes.size() - header == count, "{}: IDX sizes {} need {} data bytes but the file has {}", what,
             fmt::join(sizes, "x"), count, bytes.size() - header);
  auto out = torch::empty(sizes, torch::kUInt8);
  if (count > 0) std::memcpy(out.data_ptr<uint8_t>(), p + header, count);
  return out;
}

torch::Tensor read_idx(const std::string& path) {
  auto bytes = read_file(path);
  if (is_gzip(bytes)) bytes = gunzip(bytes, path);
  return parse_idx(bytes, path);
}

}  // namespace ddim
