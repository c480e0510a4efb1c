// The reader behind tensor_io.h's unpickle_bytes: LibTorch's `.pt` format, read by ddim's own
// bounded code instead of LibTorch 1.13's unpickler (which crashes on a few bytes of hostile
// pickle: it pops an empty stack on TUPLE1 or REDUCE, and trusts storage offsets and strides).
//
// A `.pt` file is a zip archive: `<archive>/data.pkl` (a Python pickle, protocol 2 to 4) and one
// record `<archive>/data/<key>` per tensor storage. This reader
//   - walks the zip's central directory with bounds checks, verifies every record's CRC-32 and
//     reads stored or deflated records no larger than a byte limit;
//   - runs the pickle opcodes torch.save and torch::pickle_save emit (and nothing else) on a
//     checked stack: every pop is checked, containers are never nested deeper than 64 levels nor
//     modified after being placed in another one (so the result has no cycles), and the only
//     Python callables are the tensor and container rebuilders;
//   - checks every tensor before it exists: a supported dtype; non-negative sizes, strides and
//     offset; the highest element it addresses inside its storage; its storage no larger than
//     the record on disk (64-bit arithmetic, checked for overflow); bool storages hold 0 or 1.
// Internal: fuzz targets and tests include it from src/.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ddim::detail {

/// The bytes of one storage record, or nullopt when the archive has no such record.
/// `max_bytes` bounds what may be decompressed; the reader fails beyond it.
using RecordReader =
    std::function<std::optional<std::vector<char>>(const std::string& key, int64_t max_bytes)>;

/// Runs a pickle stream. `records` serves the storages named by BINPERSID; `max_bytes` bounds
/// the storages' total size. Throws ddim::Error for a malformed stream and
/// ddim::InvalidArgument for a well-formed one that holds something unacceptable (an
/// unsupported type, a tensor that does not fit its storage, more bytes than allowed); the
/// messages start with `what`.
c10::IValue unpickle_stream(std::string_view pickle, const RecordReader& records, const std::string& what,
                            int64_t max_bytes);

/// One file of a zip archive.
struct ZipEntry {
  std::string name;
  uint64_t offset = 0;  ///< of its local header
  uint64_t compressed = 0, size = 0;
  uint16_t method = 0;  ///< 0 stored, 8 deflated
  uint32_t crc = 0;
};

/// A read-only view of a zip archive in memory (the bytes must outlive it).
class ZipView {
 public:
  /// Parses the central directory; throws ddim::Error naming `what` when it is malformed.
  ZipView(std::string_view bytes, std::string what);
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;
  /// The entry's bytes, CRC-checked. Throws ddim::InvalidArgument when its size exceeds `max_bytes`.
  std::vector<char> read(const ZipEntry& entry, int64_t max_bytes) const;

 private:
  std::string_view bytes_;
  std::string what_;
  std::vector<ZipEntry> entries_;
};

}  // namespace ddim::detail
