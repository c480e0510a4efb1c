#include "crafted.h"

#include <zlib.h>

#include "fuzz/tiny_models.h"
#include "support.h"

namespace ddim::test {
namespace {

void put_le(std::vector<char>& b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::string storage_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return "FloatStorage";
    case torch::kDouble:
      return "DoubleStorage";
    case torch::kHalf:
      return "HalfStorage";
    case torch::kBFloat16:
      return "BFloat16Storage";
    case torch::kLong:
      return "LongStorage";
    case torch::kInt:
      return "IntStorage";
    case torch::kByte:
      return "ByteStorage";
    case torch::kBool:
      return "BoolStorage";
    default:
      throw std::runtime_error("crafted: unsupported dtype");
  }
}

}  // namespace

RawTensor raw_of(const torch::Tensor& t, const std::string& key) {
  RawTensor r;
  r.storage = storage_name(t.scalar_type());
  r.key = key;
  r.numel = t.numel();
  r.sizes = t.sizes().vec();
  r.strides = t.contiguous().strides().vec();
  return r;
}

std::vector<char> record_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  const auto* p = static_cast<const char*>(c.data_ptr());
  return std::vector<char>(p, p + c.nbytes());
}

PickleWriter::PickleWriter() { b_ = {'\x80', '\x02'}; }

PickleWriter& PickleWriter::str(const std::string& s) {
  b_.push_back('X');
  put_le(b_, s.size(), 4);
  b_.insert(b_.end(), s.begin(), s.end());
  return *this;
}

PickleWriter& PickleWriter::integer(int64_t v) {
  b_.push_back('\x8a');  // LONG1 of 8 bytes: any int64
  b_.push_back(8);
  put_le(b_, static_cast<uint64_t>(v), 8);
  return *this;
}

PickleWriter& PickleWriter::global(const std::string& module, const std::string& name) {
  return raw("c" + module + "\n" + name + "\n");
}

PickleWriter& PickleWriter::tensor(const RawTensor& t) {
  global("torch._utils", "_rebuild_tensor_v2");
  raw("((");
  str("storage").global("torch", t.storage).str(t.key).str("cpu").integer(t.numel);
  raw("tQ");
  integer(t.offset);
  raw("(");
  for (auto s : t.sizes) integer(s);
  raw("t(");
  for (auto s : t.strides) integer(s);
  raw("t\x89");
  global("collections", "OrderedDict");
  raw(")Rt");  // the empty hooks dict, then close the arguments
  return raw("R");
}

PickleWriter& PickleWriter::dict_begin() { return raw("}("); }
PickleWriter& PickleWriter::dict_end() { return raw("u"); }

PickleWriter& PickleWriter::raw(const std::string& bytes) {
  b_.insert(b_.end(), bytes.begin(), bytes.end());
  return *this;
}

std::vector<char> PickleWriter::finish() {
  auto out = b_;
  out.push_back('.');
  return out;
}

std::vector<char> pt_file(const std::vector<char>& pickle,
                          const std::map<std::string, std::vector<char>>& records, bool deflate,
                          int64_t declared_size) {
  std::vector<std::pair<std::string, std::vector<char>>> files = {{"archive/data.pkl", pickle}};
  for (const auto& [k, v] : records) files.emplace_back("archive/data/" + k, v);
  files.emplace_back("archive/version", std::vector<char>{'3', '\n'});
  std::vector<char> out, directory;
  for (const auto& [name, plain] : files) {
    const auto offset = out.size();
    const auto crc =
        static_cast<uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(plain.data()), plain.size()));
    const auto data = deflate ? deflate_bytes(plain, -MAX_WBITS) : plain;
    const bool record = name.rfind("archive/data/", 0) == 0;
    const uint64_t size = record && declared_size >= 0 ? static_cast<uint64_t>(declared_size) : plain.size();
    auto header = [&](std::vector<char>& b, bool central) {
      put_le(b, central ? 0x02014b50 : 0x04034b50, 4);
      if (central) put_le(b, 20, 2);  // made by
      put_le(b, 20, 2);               // needed
      put_le(b, 0, 2);                // flags
      put_le(b, deflate ? 8 : 0, 2);  // method
      put_le(b, 0, 4);                // time, date
      put_le(b, crc, 4);
      put_le(b, data.size(), 4);
      put_le(b, size, 4);
      put_le(b, name.size(), 2);
      put_le(b, 0, 2);  // extra
      if (central) {
        put_le(b, 0, 2);  // comment
        put_le(b, 0, 2);  // disk
        put_le(b, 0, 2);  // internal attributes
        put_le(b, 0, 4);  // external attributes
        put_le(b, offset, 4);
      }
      b.insert(b.end(), name.begin(), name.end());
    };
    header(out, false);
    out.insert(out.end(), data.begin(), data.end());
    header(directory, true);
  }
  const auto cd_offset = out.size();
  out.insert(out.end(), directory.begin(), directory.end());
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);
  put_le(out, files.size(), 2);
  put_le(out, files.size(), 2);
  put_le(out, directory.size(), 4);
  put_le(out, cd_offset, 4);
  put_le(out, 0, 2);
  return out;
}

std::vector<char> tensor_file(const RawTensor& raw, const std::vector<char>& record) {
  return pt_file(PickleWriter().tensor(raw).finish(), {{raw.key, record}});
}

std::vector<char> checkpoint_file(const Checkpoint& ck, const Tamper& tamper, const std::string* meta_text) {
  PickleWriter p;
  std::map<std::string, std::vector<char>> records;
  int key = 0;
  p.dict_begin();
  p.str("format").str("ddim-checkpoint").str("version").integer(1);
  p.str("meta").str(meta_text ? *meta_text : ck.meta.dump());
  p.str("states").dict_begin();
  for (const auto& [state, tensors] : ck.states) {
    p.str(state).dict_begin();
    for (const auto& [name, t] : tensors) {
      auto raw = raw_of(t, std::to_string(key++));
      auto record = record_of(t);
      if (tamper) tamper(state, name, raw, record);
      records[raw.key] = record;
      p.str(name).tensor(raw);
    }
    p.dict_end();
  }
  p.dict_end();
  p.str("blobs").dict_begin();
  for (const auto& [name, bytes] : ck.blobs) {
    const auto t = torch::from_blob(const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())},
                                    torch::kUInt8);
    auto raw = raw_of(t, std::to_string(key++));
    records[raw.key] = record_of(t);
    p.str(name).tensor(raw);
  }
  p.dict_end();
  p.dict_end();
  return pt_file(p.finish(), records);
}

Checkpoint tiny_denoiser_checkpoint() { return fuzz::tiny_denoiser_checkpoint(); }

}  // namespace ddim::test
