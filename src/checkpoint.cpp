#include "ddim/checkpoint.h"

#include <sstream>

#include "ddim/error.h"
#include "ddim/file.h"

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

}  // namespace

std::string Checkpoint::kind() const { return meta.value("kind", std::string()); }

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

Checkpoint load_checkpoint(const std::string& path) {
  const auto value = unpickle_bytes(read_file(path), path);
  const auto not_ours = [&] {
    DDIM_FAIL("{}: not a ddim checkpoint (a .pt file without ddim's layout)", path);
  };
  if (!value.isGenericDict()) not_ours();
  const auto root = value.toGenericDict();
  if (!root.contains("format") || !root.at("format").isString() || root.at("format").toStringRef() != kFormat)
    not_ours();
  const auto version = root.at("version").toInt();
  DDIM_CHECK(version == kVersion, "{}: checkpoint format version {} is not supported (this ddim reads {})",
             path, version, kVersion);
  Checkpoint ck;
  try {
    ck.meta = nlohmann::json::parse(root.at("meta").toStringRef());
    for (const auto& entry : root.at("states").toGenericDict()) {
      TensorDict d;
      for (const auto& t : entry.value().toGenericDict()) d[t.key().toStringRef()] = t.value().toTensor();
      ck.states[entry.key().toStringRef()] = std::move(d);
    }
    for (const auto& entry : root.at("blobs").toGenericDict())
      ck.blobs[entry.key().toStringRef()] = tensor_bytes(entry.value().toTensor());
  } catch (const std::exception& e) {
    DDIM_FAIL("{}: damaged ddim checkpoint: {}", path, std::string(e.what()).substr(0, 200));
  }
  return ck;
}

Checkpoint load_checkpoint(const std::string& path, const std::string& kind) {
  auto ck = load_checkpoint(path);
  DDIM_CHECK(ck.kind() == kind, "{}: is a ddim {} checkpoint, but a {} is needed here", path,
             ck.kind().empty() ? "unknown" : ck.kind(), kind);
  return ck;
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
