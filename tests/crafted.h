// Hostile files made by hand: `.pt` archives whose every field the test controls (dtypes,
// sizes, strides, offsets, declared element counts, records, metadata), for the tests that
// ddim's readers refuse them with one clear line instead of crashing or reading garbage.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ddim/io/checkpoint.h"

namespace ddim::test {

/// A tensor as a `.pt` file describes it: a storage (type, record key, declared element
/// count) and a view of it (offset, sizes, strides).
struct RawTensor {
  std::string storage = "FloatStorage";  ///< torch.<storage>
  std::string key = "0";
  int64_t numel = 0;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

/// The description of `t` (contiguous, in record `key`) and its bytes.
RawTensor raw_of(const torch::Tensor& t, const std::string& key);
std::vector<char> record_of(const torch::Tensor& t);

/// A pickle (protocol 2), written opcode by opcode as torch.save does.
class PickleWriter {
 public:
  PickleWriter();
  PickleWriter& str(const std::string& s);
  PickleWriter& integer(int64_t v);
  PickleWriter& tensor(const RawTensor& t);
  PickleWriter& global(const std::string& module, const std::string& name);
  PickleWriter& dict_begin();  ///< EMPTY_DICT MARK
  PickleWriter& dict_end();    ///< SETITEMS
  PickleWriter& raw(const std::string& bytes);
  std::vector<char> finish();  ///< STOP

 private:
  std::vector<char> b_;
};

/// A `.pt` file: a zip archive (correct CRCs) of archive/data.pkl, the records
/// archive/data/<key> and archive/version; entries stored, or deflated when `deflate`, the
/// records' declared size then `declared_size` when not negative.
std::vector<char> pt_file(const std::vector<char>& pickle,
                          const std::map<std::string, std::vector<char>>& records, bool deflate = false,
                          int64_t declared_size = -1);

/// A `.pt` file holding one tensor, described by `raw`, with the record `record`.
std::vector<char> tensor_file(const RawTensor& raw, const std::vector<char>& record);

/// Lets a test change one tensor of a checkpoint (its description and record) as it is written.
using Tamper = std::function<void(const std::string& state, const std::string& name, RawTensor& raw,
                                  std::vector<char>& record)>;

/// Writes `ck` as save_checkpoint would, except that `tamper` may change any tensor on the way;
/// meta is written as `meta_text` when given (malformed JSON included).
std::vector<char> checkpoint_file(const Checkpoint& ck, const Tamper& tamper = {},
                                  const std::string* meta_text = nullptr);

/// A denoiser checkpoint of a 1x8x8 U-Net with random weights (what `ddim train` writes).
Checkpoint tiny_denoiser_checkpoint();

}  // namespace ddim::test
