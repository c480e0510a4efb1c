#include "ddim/io/tensor_io.h"

#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/limits.h"
#include "io/pt_reader.h"

namespace ddim {
namespace {

std::string prefix(const std::string& what, const std::string& name) {
  return name.empty() ? what : what + ": " + name;
}

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

// The multi-index of flat element `flat` of a tensor of `sizes`.
std::string index_of(int64_t flat, c10::IntArrayRef sizes) {
  std::vector<int64_t> idx(sizes.size());
  for (size_t i = sizes.size(); i-- > 0;) {
    idx[i] = sizes[i] > 0 ? flat % sizes[i] : 0;
    flat = sizes[i] > 0 ? flat / sizes[i] : 0;
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

}  // namespace

const std::vector<torch::ScalarType>& floating_dtypes() {
  static const std::vector<torch::ScalarType> types = {torch::kHalf, torch::kBFloat16, torch::kFloat,
                                                       torch::kDouble};
  return types;
}

TensorRules TensorRules::finite_floats() {
  TensorRules r;
  r.dtypes = floating_dtypes();
  r.non_empty = true;
  r.to_float32 = true;
  r.finite = true;
  return r;
}

void validate_tensor(const torch::Tensor& t, const TensorRules& rules, const std::string& what,
                     const std::string& name) {
  const auto where = prefix(what, name);
  DDIM_CHECK_ARG(t.defined(), "{}: holds no tensor", where);
  DDIM_CHECK_ARG(!t.is_quantized() && !t.is_complex() && t.layout() == torch::kStrided,
                 "{}: {} tensors are not supported", where, c10::toString(t.scalar_type()));
  if (!rules.dtypes.empty()) {
    const bool ok =
        std::find(rules.dtypes.begin(), rules.dtypes.end(), t.scalar_type()) != rules.dtypes.end();
    std::vector<std::string> names;
    for (auto d : rules.dtypes) names.emplace_back(c10::toString(d));
    DDIM_CHECK_ARG(ok, "{}: holds {} values; expected {}", where, c10::toString(t.scalar_type()),
                   fmt::join(names, " or "));
  }
  DDIM_CHECK_ARG(t.dim() >= rules.min_dim && t.dim() <= rules.max_dim,
                 "{}: has {} dimensions {}; expected {}", where, t.dim(), shape_of(t),
                 rules.min_dim == rules.max_dim ? fmt::format("{}", rules.min_dim)
                                                : fmt::format("{} to {}", rules.min_dim, rules.max_dim));
  if (rules.non_empty) DDIM_CHECK_ARG(t.numel() > 0, "{}: is empty (shape {})", where, shape_of(t));
  if (rules.max_elements > 0)
    DDIM_CHECK_ARG(t.numel() <= rules.max_elements, "{}: holds {} values, more than the {} accepted here",
                   where, t.numel(), rules.max_elements);
  if (t.numel() == 0) return;
  const bool floating = t.is_floating_point();
  if (rules.finite && floating) {
    const auto bad = torch::logical_not(torch::isfinite(t)).flatten();
    const int64_t count = bad.sum().item<int64_t>();
    if (count > 0) {
      const int64_t first = bad.nonzero()[0][0].item<int64_t>();
      DDIM_CHECK_ARG(false, "{}: {} of {} values are NaN or infinite (the first at {})", where, count,
                     t.numel(), index_of(first, t.sizes()));
    }
  }
  if (rules.range) {
    const auto [lo, hi] = *rules.range;
    const auto d = t.to(torch::kDouble);
    const double mn = d.min().item<double>(), mx = d.max().item<double>();
    DDIM_CHECK_ARG(mn >= lo && mx <= hi, "{}: values range over [{}, {}]; expected values in [{}, {}]", where,
                   mn, mx, lo, hi);
  }
}

std::vector<char> pickle_bytes(const c10::IValue& value) { return torch::pickle_save(value); }

c10::IValue unpickle_bytes(const std::vector<char>& bytes, const std::string& what) {
  DDIM_CHECK(!bytes.empty(), "{}: file is empty", what);
  const int64_t max_bytes = input_limits().max_bytes;
  const detail::ZipView zip(std::string_view(bytes.data(), bytes.size()), what);
  // The archive's records share one top folder (Python names it after the file, LibTorch
  // "archive"): <folder>/data.pkl and <folder>/data/<key>.
  const detail::ZipEntry* pickle = nullptr;
  for (const auto& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      pickle = &e;
      break;
    }
  }
  if (pickle == nullptr)
    DDIM_FAIL("{}: not a readable .pt file (truncated or corrupt?): no data.pkl inside", what);
  const std::string folder = pickle->name.substr(0, pickle->name.size() - std::string("data.pkl").size());
  if (const auto* order = zip.find(folder + "byteorder")) {
    const auto b = zip.read(*order, 16);
    DDIM_CHECK_ARG(std::string(b.begin(), b.end()) == "little", "{}: written on a big-endian machine", what);
  }
  // The pickle itself: ddim's and PyTorch's are kilobytes; its objects take ~100x its size.
  const auto program = zip.read(*pickle, std::min<int64_t>(max_bytes / 64, int64_t{64} << 20));
  const detail::RecordReader records = [&](const std::string& key,
                                           int64_t limit) -> std::optional<std::vector<char>> {
    const auto* e = zip.find(folder + "data/" + key);
    if (e == nullptr) return std::nullopt;
    return zip.read(*e, limit);
  };
  return detail::unpickle_stream(std::string_view(program.data(), program.size()), records, what, max_bytes);
}

void save_tensor(const std::string& path, const torch::Tensor& tensor) {
  DDIM_CHECK_ARG(tensor.defined(), "{}: cannot save an undefined tensor", path);
  const auto bytes = pickle_bytes(tensor.detach().to(torch::kCPU).contiguous());
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

torch::Tensor tensor_from_value(const c10::IValue& value, const TensorRules& rules, const std::string& what) {
  DDIM_CHECK_ARG(value.isTensor(), "{}: holds a {}, expected a tensor", what, value.tagKind());
  auto t = value.toTensor();
  if (rules.to_float32) {
    // Structure and dtype first; values after the conversion (a float64 of 1e300 becomes inf).
    auto structure = rules;
    structure.finite = false;
    structure.range.reset();
    validate_tensor(t, structure, what);
    t = t.to(torch::kFloat32);
  }
  validate_tensor(t, rules, what);
  return t;
}

torch::Tensor load_tensor(const std::string& path, const TensorRules& rules) {
  return tensor_from_value(unpickle_bytes(read_file(path), path), rules, path);
}

torch::Tensor seeds_from_value(const c10::IValue& value, const std::vector<int64_t>& shape,
                               const std::string& what) {
  auto rules = TensorRules::finite_floats();
  const auto k = static_cast<int64_t>(shape.size());
  rules.min_dim = k;
  rules.max_dim = k + 2;
  auto seeds = tensor_from_value(value, rules, what);
  bool fits = true;
  for (int64_t i = 0; i < k; ++i) fits = fits && seeds.size(seeds.dim() - k + i) == shape[i];
  DDIM_CHECK_ARG(fits, "{}: seeds of shape {} do not fit this model, whose seeds are [N, {}]", what,
                 fmt::join(seeds.sizes(), "x"), fmt::join(shape, ", "));
  if (seeds.dim() == k) return seeds.unsqueeze(0);
  if (seeds.dim() == k + 2) return seeds.flatten(0, 1);
  return seeds;
}

torch::Tensor load_seeds(const std::string& path, const std::vector<int64_t>& shape) {
  return seeds_from_value(unpickle_bytes(read_file(path), path), shape, path);
}

torch::Tensor load_image_batch(const std::string& path) {
  auto rules = TensorRules::finite_floats();
  rules.min_dim = rules.max_dim = 4;
  rules.range = std::make_pair(0.0, 1.0);
  auto images = load_tensor(path, rules);
  DDIM_CHECK_ARG(images.size(1) == 1 || images.size(1) == 3,
                 "{}: images [N, C, H, W] need C = 1 or 3 channels, got shape [{}]", path,
                 fmt::join(images.sizes(), ", "));
  const int64_t max_pixels = input_limits().max_image_pixels;
  DDIM_CHECK_ARG(
      images.size(2) * images.size(3) <= max_pixels,
      "{}: images of {}x{} pixels exceed the limit of {} pixels (the input limit max_image_pixels)", path,
      images.size(3), images.size(2), max_pixels);
  return images;
}

void save_tensor_dict(const std::string& path, const TensorDict& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t.detach().to(torch::kCPU).contiguous());
  const auto bytes = pickle_bytes(dict);
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

TensorDict load_tensor_dict(const std::string& path, const TensorRules& rules) {
  const auto value = unpickle_bytes(read_file(path), path);
  DDIM_CHECK_ARG(value.isGenericDict(), "{}: holds a {}, expected a dict of tensors", path, value.tagKind());
  TensorDict out;
  for (const auto& entry : value.toGenericDict()) {
    DDIM_CHECK_ARG(entry.key().isString() && entry.value().isTensor(),
                   "{}: expected a dict from names to tensors", path);
    const auto& name = entry.key().toStringRef();
    validate_tensor(entry.value().toTensor(), rules, path, fmt::format("tensor '{}'", printable(name)));
    out[name] = entry.value().toTensor();
  }
  return out;
}

}  // namespace ddim
