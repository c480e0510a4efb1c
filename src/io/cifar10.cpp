#include "ddim/io/cifar10.h"

#include <cstring>

#include "ddim/core/error.h"
#include "ddim/core/file.h"

namespace ddim {

const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

Cifar10Batch parse_cifar10_batch(const std::vector<char>& bytes, const std::string& what) {
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  const auto size = static_cast<int64_t>(bytes.size());
  DDIM_CHECK(size > 0 && size % kRecord == 0,
             "{}: not a CIFAR-10 batch: {} bytes is not a multiple of the {}-byte record "
             "(a full batch is {} bytes)",
             what, size, kRecord, 10000 * kRecord);
  const int64_t n = size / kRecord;
  auto records = torch::from_blob(const_cast<char*>(bytes.data()), {n, kRecord}, torch::kUInt8);
  Cifar10Batch batch;
  batch.labels = records.select(1, 0).to(torch::kInt64);
  const int64_t bad = batch.labels.ge(10).sum().item<int64_t>();
  DDIM_CHECK(bad == 0, "{}: corrupt CIFAR-10 batch: {} records have a label outside 0..9", what, bad);
  batch.images = records.narrow(1, 1, kRecord - 1).reshape({n, 3, 32, 32}).clone();
  return batch;
}

Cifar10Batch read_cifar10_batch(const std::string& path) {
  return parse_cifar10_batch(read_file(path), path);
}

}  // namespace ddim
