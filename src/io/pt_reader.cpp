#include "io/pt_reader.h"

#include <c10/core/CPUAllocator.h>
#include <zlib.h>

#include <cstring>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "ddim/core/error.h"

namespace ddim::detail {
namespace {

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }

[[noreturn]] void corrupt(const std::string& what, const std::string& why) {
  DDIM_FAIL("{}: not a readable .pt file (truncated or corrupt?): {}", what, why);
}

// Feeds zlib in pieces of at most 1 GiB (its counters are 32-bit).
constexpr size_t kZlibPiece = size_t(1) << 30;

uint32_t crc32_of(const char* data, size_t n) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < n;) {
    const size_t piece = std::min(n - done, kZlibPiece);
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data + done), static_cast<uInt>(piece));
    done += piece;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

// ---------------------------------------------------------------------------------- zip

ZipView::ZipView(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint64_t n = bytes.size();
  if (n < 22) corrupt(what_, fmt::format("{} bytes are too few for a zip archive", n));
  // The end-of-central-directory record: the last 22 bytes plus a comment of up to 64 KiB.
  uint64_t eocd = n;
  const uint64_t lowest = n - 22 > 65535 ? n - 22 - 65535 : 0;
  for (uint64_t i = n - 22 + 1; i-- > lowest;)
    if (le32(p + i) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == n) corrupt(what_, "no zip directory at the end of the file (cut short, or not a .pt file)");
  const uint16_t disk = le16(p + eocd + 4), cd_disk = le16(p + eocd + 6);
  uint64_t count = le16(p + eocd + 10), cd_size = le32(p + eocd + 12), cd_offset = le32(p + eocd + 16);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    // Zip64: a locator just before the record points to the 64-bit directory record.
    if (eocd < 20 || le32(p + eocd - 20) != 0x07064b50) corrupt(what_, "zip64 locator missing");
    const uint64_t at = le64(p + eocd - 20 + 8);
    if (at > n || n - at < 56 || le32(p + at) != 0x06064b50) corrupt(what_, "zip64 directory record missing");
    count = le64(p + at + 32);
    cd_size = le64(p + at + 40);
    cd_offset = le64(p + at + 48);
  }
  if (disk != 0 || cd_disk != 0) corrupt(what_, "multi-part zip archives are not supported");
  if (cd_offset > n || cd_size > n - cd_offset) corrupt(what_, "zip directory lies outside the file");
  if (count > cd_size / 46) corrupt(what_, "zip directory is shorter than its entry count");
  entries_.reserve(count);
  std::unordered_set<std::string> names;
  uint64_t pos = cd_offset;
  const uint64_t end = cd_offset + cd_size;
  for (uint64_t k = 0; k < count; ++k) {
    if (end - pos < 46 || le32(p + pos) != 0x02014b50) corrupt(what_, "damaged zip directory entry");
    const uint16_t flags = le16(p + pos + 8), name_len = le16(p + pos + 28), extra_len = le16(p + pos + 30),
                   comment_len = le16(p + pos + 32);
    ZipEntry e;
    e.method = le16(p + pos + 10);
    e.crc = le32(p + pos + 16);
    e.compressed = le32(p + pos + 20);
    e.size = le32(p + pos + 24);
    e.offset = le32(p + pos + 42);
    if (end - pos - 46 < uint64_t(name_len) + extra_len + comment_len)
      corrupt(what_, "damaged zip directory entry");
    e.name.assign(reinterpret_cast<const char*>(p + pos + 46), name_len);
    // Zip64 sizes and offset live in extra field 0x0001, in this order, when the 32-bit ones are all ones.
    for (uint64_t q = pos + 46 + name_len, q_end = q + extra_len; q_end - q >= 4;) {
      const uint16_t id = le16(p + q), len = le16(p + q + 2);
      if (q_end - q - 4 < len) corrupt(what_, "damaged zip extra field");
      if (id == 0x0001) {
        uint64_t r = q + 4;
        const uint64_t r_end = r + len;
        for (uint64_t* field : {&e.size, &e.compressed, &e.offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (r_end - r < 8) corrupt(what_, "damaged zip64 extra field");
          *field = le64(p + r);
          r += 8;
        }
      }
      q += 4 + len;
    }
    pos += 46 + uint64_t(name_len) + extra_len + comment_len;
    if (flags & 1) corrupt(what_, fmt::format("zip entry '{}' is encrypted", printable(e.name)));
    if (e.method != 0 && e.method != 8)
      corrupt(what_, fmt::format("zip entry '{}' uses compression method {}", printable(e.name), e.method));
    // The data follow the local header, whose name and extra lengths may differ from the directory's.
    if (e.offset > n || n - e.offset < 30 || le32(p + e.offset) != 0x04034b50)
      corrupt(what_, fmt::format("zip entry '{}' has no local header", printable(e.name)));
    const uint64_t data = e.offset + 30 + le16(p + e.offset + 26) + le16(p + e.offset + 28);
    if (data > n || e.compressed > n - data)
      corrupt(what_, fmt::format("zip entry '{}' runs past the end of the file", printable(e.name)));
    e.offset = data;
    if (!names.insert(e.name).second)
      corrupt(what_, fmt::format("zip entry '{}' appears twice", printable(e.name)));
    entries_.push_back(std::move(e));
  }
}

const ZipEntry* ZipView::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<char> ZipView::read(const ZipEntry& e, int64_t max_bytes) const {
  DDIM_CHECK_ARG(e.size <= static_cast<uint64_t>(std::max<int64_t>(max_bytes, 0)),
                 "{}: record '{}' holds {} bytes, more than the limit of {} bytes", what_, printable(e.name),
                 e.size, max_bytes);
  const char* src = bytes_.data() + e.offset;
  std::vector<char> out;
  if (e.method == 0) {
    if (e.compressed != e.size)
      corrupt(what_, fmt::format("stored zip entry '{}' has two sizes", printable(e.name)));
    out.assign(src, src + e.size);
  } else {
    // One byte of room beyond the declared size catches a stream that inflates to more.
    out.resize(e.size + 1);
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) corrupt(what_, "cannot start the deflate decoder");
    uint64_t in_done = 0, out_given = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
      if (zs.avail_in == 0 && in_done < e.compressed) {
        const size_t piece = std::min<uint64_t>(e.compressed - in_done, kZlibPiece);
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(src + in_done));
        zs.avail_in = static_cast<uInt>(piece);
        in_done += piece;
      }
      if (zs.avail_out == 0) {
        const size_t piece = std::min<uint64_t>(out.size() - out_given, kZlibPiece);
        if (piece == 0) break;  // the slack byte was written: too much output
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_given);
        zs.avail_out = static_cast<uInt>(piece);
        out_given += piece;
      }
      rc = inflate(&zs, Z_NO_FLUSH);
      // More room or more input lets it go on; neither left means the stream is cut short.
      if (rc == Z_BUF_ERROR && (zs.avail_out == 0 || (zs.avail_in == 0 && in_done < e.compressed))) rc = Z_OK;
    }
    const uint64_t produced = out_given - zs.avail_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != e.size)
      corrupt(what_, fmt::format("deflated zip entry '{}' does not inflate to its {} bytes",
                                 printable(e.name), e.size));
    out.resize(e.size);
  }
  if (crc32_of(out.data(), out.size()) != e.crc)
    corrupt(what_, fmt::format("zip entry '{}' fails its CRC-32 check", printable(e.name)));
  return out;
}

// ------------------------------------------------------------------------------ pickle
namespace {

// The Python callables a pickle may name (GLOBAL), held on the stack as capsules.
enum class Callable { RebuildTensor, RebuildParameter, OrderedDict, RestoreTypeTag, BuildList, StorageType };

struct GlobalRef : torch::CustomClassHolder {
  Callable kind;
  c10::ScalarType dtype = c10::ScalarType::Undefined;
  std::string name;
  GlobalRef(Callable k, std::string n, c10::ScalarType t = c10::ScalarType::Undefined)
      : kind(k), dtype(t), name(std::move(n)) {}
};

struct StorageInfo {
  c10::ScalarType dtype;
  int64_t numel;
  std::string key;
};

constexpr int kMaxDepth = 64;    // containers nested deeper are refused
constexpr size_t kMaxRank = 16;  // tensor dimensions

const std::vector<std::pair<std::string, c10::ScalarType>>& storage_types() {
  static const std::vector<std::pair<std::string, c10::ScalarType>> types = {
      {"FloatStorage", c10::kFloat},       {"DoubleStorage", c10::kDouble}, {"HalfStorage", c10::kHalf},
      {"BFloat16Storage", c10::kBFloat16}, {"LongStorage", c10::kLong},     {"IntStorage", c10::kInt},
      {"ShortStorage", c10::kShort},       {"CharStorage", c10::kChar},     {"ByteStorage", c10::kByte},
      {"BoolStorage", c10::kBool}};
  return types;
}

class Unpickler {
 public:
  Unpickler(std::string_view in, const RecordReader& records, const std::string& what, int64_t max_bytes)
      : in_(in), records_(records), what_(what), max_bytes_(max_bytes) {}

  c10::IValue run();

 private:
  // ---- input
  size_t remaining() const { return in_.size() - pos_; }
  const char* take(uint64_t n) {
    if (n > remaining()) fail("ends in the middle of an instruction");
    const char* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8() { return static_cast<uint8_t>(*take(1)); }
  uint16_t u16() { return le16(reinterpret_cast<const unsigned char*>(take(2))); }
  uint32_t u32() { return le32(reinterpret_cast<const unsigned char*>(take(4))); }
  uint64_t u64() { return le64(reinterpret_cast<const unsigned char*>(take(8))); }
  std::string line() {
    const size_t nl = in_.find('\n', pos_);
    if (nl == std::string_view::npos || nl - pos_ > 256) fail("GLOBAL name is not a short line");
    std::string s(in_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return s;
  }

  // ---- errors
  [[noreturn]] void fail(const std::string& why) const {
    corrupt(what_, fmt::format("data.pkl at byte {}: {}", op_pos_, why));
  }
  [[noreturn]] void refuse(const std::string& why) const {
    throw InvalidArgument(fmt::format("{}: {}", what_, why), DDIM_WHERE_);
  }
  std::string tensor_label() const {
    const auto path = key_path();
    return path.empty() ? fmt::format("tensor #{}", tensors_)
                        : fmt::format("tensor '{}'", printable(path, 200));
  }

  // ---- stack
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  c10::IValue pop() {
    if (stack_.size() <= floor()) fail("pops an empty stack");
    auto v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  c10::IValue& top() {
    if (stack_.size() <= floor()) fail("reads an empty stack");
    return stack_.back();
  }
  std::vector<c10::IValue> pop_mark() {
    if (marks_.empty()) fail("closes a MARK that was never opened");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<c10::IValue> items(std::make_move_iterator(stack_.begin() + m),
                                   std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  // ---- containers: depth, and no change after being placed inside another (so no cycles)
  struct Container {
    bool sealed = false;
    int depth = 1;
  };
  static bool is_container(const c10::IValue& v) { return v.isTuple() || v.isList() || v.isGenericDict(); }
  Container& info(const c10::IValue& v) { return containers_[v.internalToPointer()]; }
  c10::IValue made(c10::IValue v, bool sealed = false) {
    containers_[v.internalToPointer()] = Container{sealed, 1};
    return v;
  }
  void check_mutable(const c10::IValue& target) {
    if (info(target).sealed) fail("changes a container after placing it in another one");
  }
  // Records that `child` goes into `parent`.
  void adopt(const c10::IValue& parent, const c10::IValue& child) {
    if (!is_container(child)) return;
    if (child.internalToPointer() == parent.internalToPointer()) fail("puts a container inside itself");
    auto& c = info(child);
    c.sealed = true;
    auto& p = info(parent);
    p.depth = std::max(p.depth, c.depth + 1);
    if (p.depth > kMaxDepth) refuse(fmt::format("containers nested deeper than {} levels", kMaxDepth));
  }
  c10::IValue tuple(std::vector<c10::IValue> items) {
    auto t = made(c10::ivalue::Tuple::create(std::move(items)), /*sealed=*/true);
    for (const auto& item : t.toTupleRef().elements()) adopt(t, item);
    return t;
  }
  void set_item(const c10::IValue& dict, c10::IValue key, c10::IValue value) {
    if (!key.isString() && !key.isInt())
      refuse(fmt::format("a dictionary key is a {}, not a string", key.tagKind()));
    adopt(dict, value);
    dict.toGenericDict().insert_or_assign(std::move(key), std::move(value));
  }
  void set_items(const c10::IValue& dict, std::vector<c10::IValue>& items) {
    if (items.size() % 2 != 0) fail("a dictionary has a key without a value");
    for (size_t i = 0; i < items.size(); i += 2) set_item(dict, std::move(items[i]), std::move(items[i + 1]));
  }
  c10::IValue new_dict() { return made(c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get())); }
  c10::IValue new_list() { return made(c10::impl::GenericList(c10::AnyType::get())); }

  // The dictionary keys under which the value now being built will be stored, as "a.b.c": for
  // messages only (ddim's checkpoints and Python's state dicts nest dicts this way).
  std::string key_path() const {
    std::vector<std::string> keys;
    for (size_t i = 0; i < marks_.size(); ++i) {
      const size_t m = marks_[i];
      if (m == 0 || m > stack_.size() || !stack_[m - 1].isGenericDict()) continue;
      const size_t end = i + 1 < marks_.size() ? marks_[i + 1] : stack_.size();
      if (end <= m) continue;
      // Odd: the last key waits for its value. Even: the last value is still being built (a
      // dictionary being filled, or the function that will rebuild a tensor).
      const auto& last = stack_[end - 1];
      if ((end - m) % 2 == 1 && last.isString())
        keys.push_back(last.toStringRef());
      else if ((end - m) % 2 == 0 && (last.isCapsule() || is_container(last)) && stack_[end - 2].isString())
        keys.push_back(stack_[end - 2].toStringRef());
    }
    const size_t n = stack_.size(), f = floor();
    if (n >= f + 2 && stack_[n - 1].isString() && stack_[n - 2].isGenericDict() &&
        (f == 0 || !stack_[f - 1].isGenericDict()))
      keys.push_back(stack_[n - 1].toStringRef());  // a single SETITEM
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ".") + k;
    return out;
  }

  // ---- Python objects
  c10::IValue global(const std::string& module, const std::string& name);
  c10::IValue call(const c10::IValue& callable, const c10::IValue& args);
  c10::IValue persistent(const c10::IValue& pid);
  c10::IValue rebuild_tensor(const std::vector<c10::IValue>& args);
  void check_result(const c10::IValue& root) const;

  std::string_view in_;
  size_t pos_ = 0, op_pos_ = 0;
  const RecordReader& records_;
  const std::string& what_;
  const int64_t max_bytes_;
  int64_t bytes_ = 0, tensors_ = 0;
  std::vector<c10::IValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, c10::IValue> memo_;
  std::unordered_map<const void*, Container> containers_;
  std::unordered_map<std::string, c10::Storage> storages_;
  std::unordered_map<const void*, StorageInfo> storage_info_;
};

c10::IValue Unpickler::global(const std::string& module, const std::string& name) {
  auto ref = [&](Callable kind, c10::ScalarType dtype = c10::ScalarType::Undefined) {
    return c10::IValue::make_capsule(c10::make_intrusive<GlobalRef>(kind, module + "." + name, dtype));
  };
  if (module == "torch._utils" && name == "_rebuild_tensor_v2") return ref(Callable::RebuildTensor);
  if (module == "torch._utils" && name == "_rebuild_parameter") return ref(Callable::RebuildParameter);
  if (module == "collections" && name == "OrderedDict") return ref(Callable::OrderedDict);
  if (module == "torch.jit._pickle" && name == "restore_type_tag") return ref(Callable::RestoreTypeTag);
  if (module == "torch.jit._pickle" && (name == "build_intlist" || name == "build_tensorlist" ||
                                        name == "build_doublelist" || name == "build_boollist"))
    return ref(Callable::BuildList);
  if (module == "torch")
    for (const auto& [storage, dtype] : storage_types())
      if (name == storage) return ref(Callable::StorageType, dtype);
  if (module == "torch" && name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0)
    refuse(
        fmt::format("holds tensors of type torch.{}: only bool, integer and real floating-point tensors "
                    "are supported (not quantized or complex ones)",
                    printable(name)));
  refuse(
      fmt::format("holds a Python object of type '{}.{}', which ddim does not read (only tensors, "
                  "dictionaries, lists, tuples, strings and numbers)",
                  printable(module), printable(name)));
}

c10::IValue Unpickler::call(const c10::IValue& callable, const c10::IValue& args_value) {
  if (!callable.isCapsule()) fail(fmt::format("calls a {}, which is not a function", callable.tagKind()));
  if (!args_value.isTuple()) fail("calls a function without an argument tuple");
  const auto* f = static_cast<const GlobalRef*>(callable.toCapsule().get());
  const auto& args = args_value.toTupleRef().elements();
  auto arity = [&](size_t lo, size_t hi) {
    if (args.size() < lo || args.size() > hi)
      fail(fmt::format("calls {} with {} arguments", f->name, args.size()));
  };
  switch (f->kind) {
    case Callable::RebuildTensor:
      arity(6, 7);
      return rebuild_tensor(args.vec());
    case Callable::RebuildParameter:
      arity(3, 4);
      if (!args[0].isTensor()) fail("rebuilds a parameter from something that is not a tensor");
      return args[0];
    case Callable::OrderedDict:
      arity(0, 0);
      return new_dict();
    case Callable::RestoreTypeTag:
      arity(2, 2);
      return args[0];
    case Callable::BuildList:
      arity(1, 1);
      if (!args[0].isList()) fail(fmt::format("calls {} on a {}", f->name, args[0].tagKind()));
      return args[0];
    case Callable::StorageType:
      break;
  }
  fail(fmt::format("calls {}", f->name));
}

c10::IValue Unpickler::persistent(const c10::IValue& pid) {
  if (!pid.isTuple() || pid.toTupleRef().elements().size() != 5) fail("a persistent id is not a 5-tuple");
  const auto& e = pid.toTupleRef().elements();
  if (!e[0].isString() || e[0].toStringRef() != "storage") fail("a persistent id is not a storage");
  if (!e[1].isCapsule() ||
      static_cast<const GlobalRef*>(e[1].toCapsule().get())->kind != Callable::StorageType)
    fail("a storage has no storage type");
  if (!e[2].isString() || !e[3].isString() || !e[4].isInt())
    fail("a storage's key, location or size is damaged");
  const auto dtype = static_cast<const GlobalRef*>(e[1].toCapsule().get())->dtype;
  const std::string& key = e[2].toStringRef();
  const int64_t numel = e[4].toInt();
  const auto label = tensor_label();
  if (key.empty() || key.size() > 64 || key.find('/') != std::string::npos)
    fail(fmt::format("storage key '{}' is not a record name", printable(key)));
  if (auto it = storages_.find(key); it != storages_.end()) {
    const auto& known = storage_info_.at(it->second.unsafeGetStorageImpl());
    if (known.dtype != dtype || known.numel != numel)
      refuse(fmt::format("{}: storage '{}' is declared twice with different types or sizes", label,
                         printable(key)));
    return c10::IValue(it->second);
  }
  const int64_t item = static_cast<int64_t>(c10::elementSize(dtype));
  int64_t nbytes = 0;
  if (numel < 0) refuse(fmt::format("{}: its storage declares {} elements", label, numel));
  if (__builtin_mul_overflow(numel, item, &nbytes))
    refuse(fmt::format("{}: its storage declares {} {} values, more than any file holds", label, numel,
                       c10::toString(dtype)));
  // The record is read (within the limit) and measured before anything of the declared size
  // is allocated: the declaration may be a lie.
  std::optional<std::vector<char>> record;
  if (nbytes > 0) {
    record = records_(key, max_bytes_ - bytes_);
    if (!record) fail(fmt::format("the record 'data/{}' of a storage is missing", printable(key)));
    if (static_cast<int64_t>(record->size()) < nbytes)
      refuse(
          fmt::format("{}: its storage declares {} {} values ({} bytes) but the file holds {} bytes for it "
                      "(record 'data/{}')",
                      label, numel, c10::toString(dtype), nbytes, record->size(), printable(key)));
  }
  if (nbytes > max_bytes_ - bytes_)
    refuse(fmt::format("{}: its storage of {} bytes exceeds the limit of {} bytes for a file", label, nbytes,
                       max_bytes_));
  c10::DataPtr data = c10::GetCPUAllocator()->allocate(static_cast<size_t>(nbytes));
  if (nbytes > 0) {
    std::memcpy(data.get(), record->data(), static_cast<size_t>(nbytes));
    if (dtype == c10::kBool) {
      const auto* b = static_cast<const unsigned char*>(data.get());
      for (int64_t i = 0; i < nbytes; ++i)
        if (b[i] > 1)
          refuse(fmt::format("{}: bool value {} at element {} is neither 0 nor 1", label, b[i], i));
    }
  }
  bytes_ += nbytes;
  c10::Storage storage(c10::Storage::use_byte_size_t(), static_cast<size_t>(nbytes), std::move(data),
                       /*allocator=*/nullptr, /*resizable=*/false);
  storage_info_[storage.unsafeGetStorageImpl()] = StorageInfo{dtype, numel, key};
  storages_.emplace(key, storage);
  return c10::IValue(storage);
}

c10::IValue Unpickler::rebuild_tensor(const std::vector<c10::IValue>& args) {
  const auto label = tensor_label();
  if (!args[0].isStorage() || !args[1].isInt() || !args[2].isTuple() || !args[3].isTuple())
    fail("rebuilds a tensor from damaged arguments");
  const auto storage = args[0].toStorage();
  const auto it = storage_info_.find(storage.unsafeGetStorageImpl());
  if (it == storage_info_.end()) fail("rebuilds a tensor from an unknown storage");
  const auto& st = it->second;
  auto ints = [&](const c10::IValue& t, const char* what) {
    std::vector<int64_t> out;
    for (const auto& v : t.toTupleRef().elements()) {
      if (!v.isInt()) fail(fmt::format("a tensor's {} are not integers", what));
      out.push_back(v.toInt());
    }
    return out;
  };
  const auto sizes = ints(args[2], "sizes"), strides = ints(args[3], "strides");
  const int64_t offset = args[1].toInt();
  const auto shape = [&] {
    return fmt::format("sizes [{}], strides [{}], storage offset {}, storage of {} elements",
                       fmt::join(sizes, ", "), fmt::join(strides, ", "), offset, st.numel);
  };
  if (sizes.size() != strides.size())
    refuse(fmt::format("{}: has {} sizes but {} strides", label, sizes.size(), strides.size()));
  if (sizes.size() > kMaxRank)
    refuse(fmt::format("{}: has {} dimensions (at most {} are supported)", label, sizes.size(), kMaxRank));
  if (offset < 0) refuse(fmt::format("{}: negative storage offset ({})", label, shape()));
  int64_t numel = 1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0) refuse(fmt::format("{}: negative size in dimension {} ({})", label, i, shape()));
    if (strides[i] < 0) refuse(fmt::format("{}: negative stride in dimension {} ({})", label, i, shape()));
    if (__builtin_mul_overflow(numel, sizes[i], &numel))
      refuse(fmt::format("{}: its element count overflows ({})", label, shape()));
  }
  if (numel > 0) {
    // The highest element the tensor addresses must lie inside its storage.
    int64_t last = offset;
    for (size_t i = 0; i < sizes.size(); ++i) {
      int64_t span = 0;
      if (__builtin_mul_overflow(sizes[i] - 1, strides[i], &span) ||
          __builtin_add_overflow(last, span, &last))
        refuse(fmt::format("{}: its extent overflows ({})", label, shape()));
    }
    if (last >= st.numel)
      refuse(fmt::format("{}: reaches element {} outside its storage ({})", label, last, shape()));
  } else if (offset > st.numel) {
    refuse(fmt::format("{}: storage offset lies outside its storage ({})", label, shape()));
  }
  ++tensors_;
  return at::empty({0}, at::TensorOptions().dtype(st.dtype)).set_(storage, offset, sizes, strides);
}

void Unpickler::check_result(const c10::IValue& root) const {
  // Every function and storage must have been consumed by a rebuild.
  std::vector<c10::IValue> todo = {root};
  std::unordered_set<const void*> seen;
  while (!todo.empty()) {
    const auto v = std::move(todo.back());
    todo.pop_back();
    if (v.isCapsule()) refuse("holds a Python function object, not data");
    if (v.isStorage()) refuse("holds a bare tensor storage, not a tensor");
    if (!is_container(v) || !seen.insert(v.internalToPointer()).second) continue;
    if (v.isTuple())
      for (const auto& e : v.toTupleRef().elements()) todo.push_back(e);
    if (v.isList())
      for (const auto& e : v.toListRef()) todo.push_back(e);
    if (v.isGenericDict())
      for (const auto& e : v.toGenericDict()) {
        todo.push_back(e.key());
        todo.push_back(e.value());
      }
  }
}

c10::IValue Unpickler::run() {
  if (in_.size() < 2 || static_cast<uint8_t>(in_[0]) != 0x80)
    fail("does not start with a pickle protocol marker");
  while (true) {
    op_pos_ = pos_;
    const uint8_t op = u8();
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t protocol = u8();
        if (op_pos_ != 0) fail("has a second protocol marker");
        if (protocol < 2 || protocol > 4)
          refuse(fmt::format("uses pickle protocol {} (ddim reads protocols 2 to 4)", protocol));
        break;
      }
      case 0x95:  // FRAME: a length hint
        take(8);
        break;
      case '.': {  // STOP
        if (stack_.size() != 1 || !marks_.empty()) fail("ends with other than one value on the stack");
        auto root = std::move(stack_.back());
        check_result(root);
        return root;
      }
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case ')':  // EMPTY_TUPLE
        stack_.push_back(tuple({}));
        break;
      case 't':  // TUPLE
        stack_.push_back(tuple(pop_mark()));
        break;
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        std::vector<c10::IValue> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        stack_.push_back(tuple(std::move(items)));
        break;
      }
      case ']':  // EMPTY_LIST
        stack_.push_back(new_list());
        break;
      case 'l': {  // LIST
        auto items = pop_mark();
        auto list = new_list();
        for (auto& v : items) {
          adopt(list, v);
          list.toList().push_back(std::move(v));
        }
        stack_.push_back(std::move(list));
        break;
      }
      case 'a': {  // APPEND
        auto v = pop();
        auto& list = top();
        if (!list.isList()) fail("appends to a " + list.tagKind());
        check_mutable(list);
        adopt(list, v);
        list.toList().push_back(std::move(v));
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_mark();
        auto& list = top();
        if (!list.isList()) fail("appends to a " + list.tagKind());
        check_mutable(list);
        for (auto& v : items) {
          adopt(list, v);
          list.toList().push_back(std::move(v));
        }
        break;
      }
      case '}':  // EMPTY_DICT
        stack_.push_back(new_dict());
        break;
      case 'd': {  // DICT
        auto items = pop_mark();
        auto dict = new_dict();
        set_items(dict, items);
        stack_.push_back(std::move(dict));
        break;
      }
      case 's': {  // SETITEM
        auto value = pop();
        auto key = pop();
        auto& dict = top();
        if (!dict.isGenericDict()) fail("sets an item of a " + dict.tagKind());
        check_mutable(dict);
        set_item(dict, std::move(key), std::move(value));
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_mark();
        auto& dict = top();
        if (!dict.isGenericDict()) fail("sets items of a " + dict.tagKind());
        check_mutable(dict);
        set_items(dict, items);
        break;
      }
      case 'q':  // BINPUT
        memo_[u8()] = top();
        break;
      case 'r':  // LONG_BINPUT
        memo_[u32()] = top();
        break;
      case 0x94:  // MEMOIZE
        memo_[memo_.size()] = top();
        break;
      case 'h':    // BINGET
      case 'j': {  // LONG_BINGET
        const uint64_t id = op == 'h' ? u8() : u32();
        const auto it = memo_.find(id);
        if (it == memo_.end()) fail(fmt::format("recalls memo entry {}, which was never stored", id));
        stack_.push_back(it->second);
        break;
      }
      case 'N':  // NONE
        stack_.emplace_back();
        break;
      case 0x88:  // NEWTRUE
        stack_.emplace_back(true);
        break;
      case 0x89:  // NEWFALSE
        stack_.emplace_back(false);
        break;
      case 'J':  // BININT
        stack_.emplace_back(static_cast<int64_t>(static_cast<int32_t>(u32())));
        break;
      case 'K':  // BININT1
        stack_.emplace_back(static_cast<int64_t>(u8()));
        break;
      case 'M':  // BININT2
        stack_.emplace_back(static_cast<int64_t>(u16()));
        break;
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const uint8_t n = u8();
        if (n > 8) refuse(fmt::format("holds an integer of {} bytes (at most 64 bits are supported)", n));
        const auto* b = reinterpret_cast<const unsigned char*>(take(n));
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
        if (n > 0 && n < 8 && (b[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);
        stack_.emplace_back(static_cast<int64_t>(v));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const auto* b = reinterpret_cast<const unsigned char*>(take(8));
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
        double d;
        std::memcpy(&d, &bits, 8);
        stack_.emplace_back(d);
        break;
      }
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d: {  // BINUNICODE8
        const uint64_t n = op == 'X' ? u32() : (op == 0x8c ? u8() : u64());
        const char* s = take(n);
        stack_.emplace_back(std::string(s, n));
        break;
      }
      case 'c': {  // GLOBAL
        const auto module = line();
        const auto name = line();
        stack_.push_back(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = pop();
        auto module = pop();
        if (!name.isString() || !module.isString()) fail("STACK_GLOBAL needs two strings");
        stack_.push_back(global(module.toStringRef(), name.toStringRef()));
        break;
      }
      case 'R': {  // REDUCE
        auto args = pop();
        auto callable = pop();
        stack_.push_back(call(callable, args));
        break;
      }
      case 'b': {  // BUILD: Python's state dicts carry `_metadata` this way; it is dropped
        auto state = pop();
        auto& object = top();
        if (!object.isGenericDict() || !(state.isNone() || state.isGenericDict()))
          fail(fmt::format("sets the state of a {}", object.tagKind()));
        break;
      }
      case 'Q': {  // BINPERSID
        auto pid = pop();
        stack_.push_back(persistent(pid));
        break;
      }
      default:
        fail(fmt::format("unsupported pickle instruction 0x{:02x}", op));
    }
  }
}

}  // namespace

c10::IValue unpickle_stream(std::string_view pickle, const RecordReader& records, const std::string& what,
                            int64_t max_bytes) {
  return Unpickler(pickle, records, what, max_bytes).run();
}

}  // namespace ddim::detail
