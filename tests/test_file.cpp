#include <filesystem>

#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "support.h"

namespace fs = std::filesystem;
using namespace ddim;
using namespace ddim::test;

TEST(File, AtomicWriteReplacesAndLeavesNoTemporaries) {
  const auto dir = scratch_dir();
  const auto path = dir + "/sub/dir/out.txt";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second, longer");
  EXPECT_EQ(read_text(path), "second, longer");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir + "/sub/dir")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(File, ReadMissingFileNamesThePath) {
  try {
    read_file("/nonexistent/ddim/file.bin");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ddim/file.bin"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos);
  }
}

TEST(File, WriteIntoAFileThatIsInTheWayFails) {
  const auto dir = scratch_dir();
  write_text(dir + "/blocker", "x");
  EXPECT_THROW(write_file_atomic(dir + "/blocker/out.txt", "data"), Error);
}
