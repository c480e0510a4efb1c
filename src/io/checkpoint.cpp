#include "ddim/io/checkpoint.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <type_traits>

#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "io/pt_reader.h"

namespace ddim {
namespace {

constexpr const char* kFormat = "ddim-checkpoint";
constexpr int64_t kVersion = 1;

torch::Tensor bytes_tensor(const std::string& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::string tensor_bytes(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

// Every number in the metadata must convert to int64 and float without undefined behaviour
// (C++ casts of 1e300 to an integer are undefined): nothing ddim writes comes near 2^53.
void check_meta_numbers(const nlohmann::json& meta, const std::string& path) {
  std::vector<std::pair<const nlohmann::json*, std::string>> todo = {{&meta, ""}};
  while (!todo.empty()) {
    const auto [j, key] = todo.back();
    todo.pop_back();
    if (j->is_object()) {
      for (const auto& [k, v] : j->items()) todo.emplace_back(&v, key.empty() ? k : key + "." + k);
    } else if (j->is_array()) {
      for (size_t i = 0; i < j->size(); ++i) todo.emplace_back(&(*j)[i], fmt::format("{}[{}]", key, i));
    } else if (j->is_number_float()) {
      const double v = j->get<double>();
      DDIM_CHECK_ARG(std::isfinite(v) && std::abs(v) <= 9007199254740992.0,
                     "{}: checkpoint metadata: key '{}': the number {} is out of range", path, printable(key),
                     v);
    }
  }
}

}  // namespace

std::string Checkpoint::kind() const {
  const auto it = meta.find("kind");
  return it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert(std::string("format"), std::string(kFormat));
  root.insert(std::string("version"), kVersion);
  root.insert(std::string("meta"), ck.meta.dump());
  c10::impl::GenericDict states(c10::StringType::get(), c10::AnyType::get());
  for (const auto& [name, dict] : ck.states) {
    c10::Dict<std::string, torch::Tensor> d;
    for (const auto& [k, v] : dict) d.insert(k, v.detach().to(torch::kCPU).contiguous());
    states.insert(name, d);
  }
  root.insert(std::string("states"), states);
  c10::Dict<std::string, torch::Tensor> blobs;
  for (const auto& [name, bytes] : ck.blobs) blobs.insert(name, bytes_tensor(bytes));
  root.insert(std::string("blobs"), blobs);
  const auto data = pickle_bytes(root);
  write_file_atomic(path, std::string_view(data.data(), data.size()));
}

Checkpoint checkpoint_from_value(const c10::IValue& value, const std::string& path) {
  const auto not_ours = [&] {
    DDIM_FAIL("{}: not a ddim checkpoint (a .pt file without ddim's layout)", path);
  };
  if (!value.isGenericDict()) not_ours();
  const auto root = value.toGenericDict();
  if (!root.contains("format") || !root.at("format").isString() || root.at("format").toStringRef() != kFormat)
    not_ours();
  auto entry = [&](const char* key, bool (c10::IValue::*is)() const, const char* kind) {
    DDIM_CHECK_ARG(root.contains(key) && (root.at(key).*is)(), "{}: damaged checkpoint: entry '{}' is not {}",
                   path, key, kind);
    return root.at(key);
  };
  const auto version = entry("version", &c10::IValue::isInt, "an integer").toInt();
  DDIM_CHECK(version == kVersion, "{}: checkpoint format version {} is not supported (this ddim reads {})",
             path, version, kVersion);
  Checkpoint ck;
  const auto meta_text = entry("meta", &c10::IValue::isString, "a string").toStringRef();
  try {
    // Nesting is bounded so that nothing recursive (dump, comparisons) can run out of stack.
    ck.meta = nlohmann::json::parse(meta_text, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > 64) throw InvalidArgument("JSON nested deeper than 64 levels");
      return true;
    });
  } catch (const std::exception& e) {
    DDIM_CHECK_ARG(false, "{}: checkpoint metadata is not valid JSON: {}", path, e.what());
  }
  DDIM_CHECK_ARG(ck.meta.is_object(), "{}: checkpoint metadata is not a JSON object", path);
  check_meta_numbers(ck.meta, path);
  const auto states = entry("states", &c10::IValue::isGenericDict, "a dictionary").toGenericDict();
  TensorRules weights;  // floating-point weights must be finite; integer buffers count steps
  weights.dtypes = floating_dtypes();
  for (auto t : {torch::kInt64, torch::kInt32, torch::kUInt8}) weights.dtypes.push_back(t);
  weights.finite = true;
  for (const auto& state : states) {
    DDIM_CHECK_ARG(state.key().isString() && state.value().isGenericDict(),
                   "{}: damaged checkpoint: 'states' must map names to dictionaries of tensors", path);
    const auto& state_name = state.key().toStringRef();
    TensorDict d;
    for (const auto& t : state.value().toGenericDict()) {
      DDIM_CHECK_ARG(t.key().isString() && t.value().isTensor(),
                     "{}: damaged checkpoint: states.{} must map names to tensors", path,
                     printable(state_name));
      const auto& name = t.key().toStringRef();
      validate_tensor(t.value().toTensor(), weights, path,
                      fmt::format("states.{}: tensor '{}'", printable(state_name), printable(name)));
      d[name] = t.value().toTensor();
    }
    ck.states[state_name] = std::move(d);
  }
  TensorRules bytes;
  bytes.dtypes = {torch::kUInt8};
  bytes.min_dim = bytes.max_dim = 1;
  for (const auto& blob : entry("blobs", &c10::IValue::isGenericDict, "a dictionary").toGenericDict()) {
    DDIM_CHECK_ARG(blob.key().isString() && blob.value().isTensor(),
                   "{}: damaged checkpoint: 'blobs' must map names to tensors", path);
    const auto& name = blob.key().toStringRef();
    validate_tensor(blob.value().toTensor(), bytes, path, fmt::format("blobs: tensor '{}'", printable(name)));
    ck.blobs[name] = tensor_bytes(blob.value().toTensor());
  }
  return ck;
}

Checkpoint load_checkpoint(const std::string& path) {
  return checkpoint_from_value(unpickle_bytes(read_file(path), path), path);
}

Checkpoint load_checkpoint(const std::string& path, const std::string& kind) {
  auto ck = load_checkpoint(path);
  DDIM_CHECK(ck.kind() == kind, "{}: is a ddim {} checkpoint, but a {} is needed here", path,
             ck.kind().empty() ? "unknown" : ck.kind(), kind);
  return ck;
}

Checkpoint release_checkpoint(const Checkpoint& ck, torch::ScalarType storage) {
  DDIM_CHECK_ARG(storage == torch::kFloat32 || storage == torch::kHalf || storage == torch::kBFloat16,
                 "a released checkpoint stores its weights as fp32, fp16 or bf16, not {}",
                 c10::toString(storage));
  Checkpoint out;
  out.meta = ck.meta;
  out.meta["released"] = true;
  if (storage != torch::kFloat32) out.meta["storage"] = storage == torch::kHalf ? "fp16" : "bf16";
  const bool has_ema = ck.states.count("ema") > 0;
  for (const auto& [name, state] : ck.states) {
    const bool raw = name == "model" || (name.size() > 4 && name.compare(name.size() - 4, 4, "_raw") == 0);
    if (has_ema && raw) continue;
    TensorDict d;
    // kFloat32 keeps every tensor as trained (an fp64 buffer stays fp64); only a narrower storage converts.
    for (const auto& [key, t] : state)
      d[key] = storage != torch::kFloat32 && t.is_floating_point() ? t.to(storage) : t;
    out.states[name] = std::move(d);
  }
  return out;
}

const TensorDict& checkpoint_state(const Checkpoint& ck, const std::string& name, const std::string& what) {
  const auto it = ck.states.find(name);
  DDIM_CHECK_ARG(it != ck.states.end(), "{}: the checkpoint has no '{}' weights", what, name);
  return it->second;
}

TensorDict module_state(const torch::nn::Module& module) {
  TensorDict d;
  for (const auto& p : module.named_parameters()) d[p.key()] = p.value().detach().to(torch::kCPU).clone();
  for (const auto& b : module.named_buffers()) d[b.key()] = b.value().detach().to(torch::kCPU).clone();
  return d;
}

void load_module_state(torch::nn::Module& module, const TensorDict& state, const std::string& what) {
  torch::NoGradGuard no_grad;
  size_t used = 0;
  auto copy = [&](const std::string& name, torch::Tensor& target) {
    const auto it = state.find(name);
    DDIM_CHECK(it != state.end(), "{}: made for another architecture: it has no tensor '{}'", what, name);
    DDIM_CHECK(it->second.sizes() == target.sizes(),
               "{}: made for another architecture: '{}' is {} in the file but {} in the network", what, name,
               fmt::join(it->second.sizes(), "x"), fmt::join(target.sizes(), "x"));
    target.copy_(it->second);
    ++used;
  };
  for (auto& p : module.named_parameters()) copy(p.key(), p.value());
  for (auto& b : module.named_buffers()) copy(b.key(), b.value());
  if (used != state.size()) {
    std::vector<std::string> extra;
    for (const auto& [name, t] : state) {
      bool known = false;
      for (const auto& p : module.named_parameters()) known = known || p.key() == name;
      for (const auto& b : module.named_buffers()) known = known || b.key() == name;
      if (!known) extra.push_back(name);
    }
    DDIM_FAIL("{}: made for another architecture: unexpected tensor '{}'", what,
              extra.empty() ? "?" : extra[0]);
  }
}

// ---------------------------------------------------------------------- metadata access

namespace detail {

void throw_meta_error(const std::string& what, const std::string& key, std::string problem) {
  problem = problem.substr(0, problem.find('\n'));
  // nlohmann's messages start with "[json.exception.type_error.302] ".
  if (!problem.empty() && problem.front() == '[') {
    const auto close = problem.find("] ");
    if (close != std::string::npos) problem = problem.substr(close + 2);
  }
  throw InvalidArgument(fmt::format("{}: checkpoint metadata: key '{}': {}", what, key, problem),
                        DDIM_WHERE_);
}

}  // namespace detail

namespace {

[[noreturn]] void meta_type_error(const std::string& what, const std::string& key, const char* expected,
                                  const nlohmann::json& found) {
  throw InvalidArgument(fmt::format("{}: checkpoint metadata: key '{}': expected {}, found {}", what, key,
                                    expected, found.type_name()),
                        DDIM_WHERE_);
}

bool is_integral(const nlohmann::json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max());
  return j.is_number_integer();
}

bool is_finite_number(const nlohmann::json& j) { return j.is_number() && std::isfinite(j.get<double>()); }

template <class T>
bool element_ok(const nlohmann::json& j) {
  if constexpr (std::is_same_v<T, int64_t>)
    return is_integral(j);
  else if constexpr (std::is_same_v<T, std::string>)
    return j.is_string();
  else if constexpr (std::is_same_v<T, bool>)
    return j.is_boolean();
  else if constexpr (std::is_same_v<T, float>)
    return is_finite_number(j) && std::abs(j.get<double>()) <= std::numeric_limits<float>::max();
  else
    return is_finite_number(j);
}

template <class T>
const char* kind_name() {
  if constexpr (std::is_same_v<T, int64_t>) return "an integer";
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  return "a finite number";
}

template <class T>
const char* array_name() {
  if constexpr (std::is_same_v<T, int64_t>) return "an array of integers";
  if constexpr (std::is_same_v<T, std::string>) return "an array of strings";
  return "an array of finite numbers";
}

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {
  using element = T;
};

}  // namespace

const nlohmann::json& meta_at(const nlohmann::json& meta, const std::string& key, const std::string& what) {
  const nlohmann::json* j = &meta;
  size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const auto part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!j->is_object() || !j->contains(part))
      throw InvalidArgument(fmt::format("{}: checkpoint metadata: key '{}' is missing", what, key),
                            DDIM_WHERE_);
    j = &j->at(part);
    if (dot == std::string::npos) return *j;
    start = dot + 1;
  }
}

template <class T>
T meta_get(const nlohmann::json& meta, const std::string& key, const std::string& what) {
  const auto& j = meta_at(meta, key, what);
  if constexpr (is_vector<T>::value) {
    using E = typename is_vector<T>::element;
    if (!j.is_array()) meta_type_error(what, key, array_name<E>(), j);
    T out;
    for (const auto& e : j) {
      if (!element_ok<E>(e)) meta_type_error(what, key, array_name<E>(), j);
      out.push_back(e.get<E>());
    }
    return out;
  } else {
    if (!element_ok<T>(j)) meta_type_error(what, key, kind_name<T>(), j);
    return j.get<T>();
  }
}

template bool meta_get<bool>(const nlohmann::json&, const std::string&, const std::string&);
template int64_t meta_get<int64_t>(const nlohmann::json&, const std::string&, const std::string&);
template double meta_get<double>(const nlohmann::json&, const std::string&, const std::string&);
template float meta_get<float>(const nlohmann::json&, const std::string&, const std::string&);
template std::string meta_get<std::string>(const nlohmann::json&, const std::string&, const std::string&);
template std::vector<int64_t> meta_get<std::vector<int64_t>>(const nlohmann::json&, const std::string&,
                                                             const std::string&);
template std::vector<float> meta_get<std::vector<float>>(const nlohmann::json&, const std::string&,
                                                         const std::string&);
template std::vector<double> meta_get<std::vector<double>>(const nlohmann::json&, const std::string&,
                                                           const std::string&);
template std::vector<std::string> meta_get<std::vector<std::string>>(const nlohmann::json&,
                                                                     const std::string&, const std::string&);

std::string optimizer_bytes(const torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void load_optimizer_bytes(torch::optim::Optimizer& optimizer, const std::string& bytes,
                          const std::string& what) {
  try {
    std::istringstream in(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    DDIM_FAIL("{}: cannot restore the optimizer state: {}", what, msg.substr(0, msg.find('\n')));
  }
}

}  // namespace ddim
