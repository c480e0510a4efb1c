#include "ddim/core/error.h"
#include "ddim/io/idx.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {
std::string error_reading(const std::string& path) {
  try {
    read_idx(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

class Idx : public SeededTest {};

TEST_F(Idx, ReadsRawAndGzippedFiles) {
  const auto dir = scratch_dir();
  auto data = torch::randint(0, 256, {5, 3, 4}, torch::kInt64).to(torch::kUInt8);
  write_bytes(dir + "/raw", idx_bytes(data));
  write_bytes(dir + "/packed.gz", gzip_bytes(idx_bytes(data)));
  EXPECT_TRUE(torch::equal(read_idx(dir + "/raw"), data));
  EXPECT_TRUE(torch::equal(read_idx(dir + "/packed.gz"), data));
}

TEST_F(Idx, WrongMagicNumberIsNamed) {
  const auto dir = scratch_dir();
  auto bytes = idx_bytes(torch::zeros({2, 2}, torch::kUInt8));
  bytes[0] = 0x12;
  write_bytes(dir + "/bad", bytes);
  const auto msg = error_reading(dir + "/bad");
  EXPECT_NE(msg.find(dir + "/bad: not an IDX file (wrong magic number"), std::string::npos) << msg;
}

TEST_F(Idx, SizesThatDoNotMatchTheDataAreRefused) {
  const auto dir = scratch_dir();
  auto bytes = idx_bytes(torch::zeros({4, 3}, torch::kUInt8));
  bytes.pop_back();
  write_bytes(dir + "/short", bytes);
  EXPECT_NE(error_reading(dir + "/short").find("need 12 data bytes but the file has 11"), std::string::npos);
  bytes.push_back(0);
  bytes.push_back(0);
  write_bytes(dir + "/long", bytes);
  EXPECT_NE(error_reading(dir + "/long").find("but the file has 13"), std::string::npos);
}

TEST_F(Idx, TruncatedGzipIsRefused) {
  const auto dir = scratch_dir();
  auto gz = gzip_bytes(idx_bytes(torch::randint(0, 256, {50, 28, 28}, torch::kInt64).to(torch::kUInt8)));
  gz.resize(gz.size() / 2);
  write_bytes(dir + "/cut.gz", gz);
  const auto msg = error_reading(dir + "/cut.gz");
  EXPECT_NE(msg.find("cut.gz: truncated gzip file"), std::string::npos) << msg;
}

TEST_F(Idx, CorruptGzipIsRefused) {
  const auto dir = scratch_dir();
  auto gz = gzip_bytes(idx_bytes(torch::randint(0, 256, {50, 28, 28}, torch::kInt64).to(torch::kUInt8)));
  gz[gz.size() - 6] ^= 0x7f;  // damage the stored CRC-32
  write_bytes(dir + "/bad.gz", gz);
  const auto msg = error_reading(dir + "/bad.gz");
  EXPECT_NE(msg.find("bad.gz: corrupt gzip file"), std::string::npos) << msg;
}
