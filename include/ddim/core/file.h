// Whole-file reads and atomic writes.
//
// Every file ddim writes goes through write_file_atomic: the bytes land in a temporary file
// beside the target, are flushed to disk, and are renamed over the target. A crash or an
// interrupt therefore leaves either the old file or the new one, never half of one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ddim {

/// Reads a whole file. Throws ddim::Error naming the path if it is missing or unreadable.
std::vector<char> read_file(const std::string& path);

/// Writes `data` to `path` atomically (temporary file + fsync + rename). Creates missing
/// parent directories.
void write_file_atomic(const std::string& path, std::string_view data);

/// Creates a directory and its parents; throws ddim::Error naming the path on failure
/// (for example when a regular file is in the way).
void make_directories(const std::string& path);

}  // namespace ddim
