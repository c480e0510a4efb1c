#include "ddim/nn/partition.h"

#include <set>

#include "ddim/core/error.h"

namespace ddim {

namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A positive integer, or -1 when `text` is not one.
int64_t parse_size(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(text);
}
}  // namespace

// ------------------------------------------------------------------ Partition

const std::string Partition::kRest = "rest";

Partition::Partition(const std::vector<std::pair<std::string, int64_t>>& parts) {
  DDIM_CHECK_ARG(!parts.empty(), "a partition needs at least one part");
  std::set<std::string> seen;
  int64_t offset = 0;
  for (const auto& [name, size] : parts) {
    DDIM_CHECK_ARG(!name.empty(), "a partition's parts need names");
    DDIM_CHECK_ARG(size > 0, "part '{}' of the partition must have a positive size, got {}", name, size);
    DDIM_CHECK_ARG(seen.insert(name).second, "part '{}' appears twice in the partition", name);
    parts_.push_back({name, size, offset});
    offset += size;
  }
}

Partition Partition::parse(const std::string& text, const std::vector<std::string>& attributes, int64_t dim) {
  std::vector<std::pair<std::string, int64_t>> parts;
  int64_t given = 0;
  int64_t open_rest = -1;  // the position of a "rest" without a size
  size_t begin = 0;
  while (begin <= text.size()) {
    const auto end = std::min(text.find(',', begin), text.size());
    const auto item = trim(text.substr(begin, end - begin));
    begin = end + 1;
    DDIM_CHECK_ARG(!item.empty(), "partition '{}': an empty part (expected NAME:SIZE,NAME:SIZE,...)", text);
    const auto colon = item.find(':');
    const auto name = trim(item.substr(0, colon));
    const bool known =
        name == kRest || std::find(attributes.begin(), attributes.end(), name) != attributes.end();
    DDIM_CHECK_ARG(
        known, "partition '{}': unknown attribute '{}' (the data's attributes: {}; or {})", text, name,
        attributes.empty() ? std::string("none") : fmt::format("{}", fmt::join(attributes, ", ")), kRest);
    if (colon == std::string::npos) {
      if (text.find(':') == std::string::npos) {  // names alone: equal chunks
        parts.emplace_back(name, 0);
        continue;
      }
      DDIM_CHECK_ARG(name == kRest, "partition '{}': part '{}' needs a size ({}:SIZE)", text, name, name);
      open_rest = static_cast<int64_t>(parts.size());
      parts.emplace_back(name, 0);
      continue;
    }
    const auto size = parse_size(trim(item.substr(colon + 1)));
    DDIM_CHECK_ARG(size > 0, "partition '{}': the size of '{}' must be a positive integer, got '{}'", text,
                   name, trim(item.substr(colon + 1)));
    parts.emplace_back(name, size);
    given += size;
  }
  if (text.find(':') == std::string::npos) {
    DDIM_CHECK_ARG(dim > 0, "partition '{}': names without sizes need the code's size", text);
    std::vector<std::string> names;
    for (const auto& p : parts) names.push_back(p.first);
    return equal(names, dim);
  }
  if (open_rest >= 0) {
    DDIM_CHECK_ARG(dim > 0, "partition '{}': a rest without a size needs the code's size", text);
    DDIM_CHECK_ARG(given < dim,
                   "partition '{}': the sized parts take {} of the code's {} dimensions, leaving none for {}",
                   text, given, dim, kRest);
    parts[static_cast<size_t>(open_rest)].second = dim - given;
    given = dim;
  }
  DDIM_CHECK_ARG(
      dim <= 0 || given == dim,
      "partition '{}': the sizes add up to {} dimensions, but the code has {} (give the difference to "
      "{}, or change the code's size)",
      text, given, dim, kRest);
  return Partition(parts);
}

Partition Partition::equal(const std::vector<std::string>& names, int64_t dim) {
  const auto n = static_cast<int64_t>(names.size());
  DDIM_CHECK_ARG(n > 0 && dim >= n, "cannot split {} dimensions into {} parts", dim, n);
  std::vector<std::pair<std::string, int64_t>> parts;
  for (int64_t i = 0; i < n; ++i)
    parts.emplace_back(names[static_cast<size_t>(i)], dim / n + (i < dim % n ? 1 : 0));
  return Partition(parts);
}

int64_t Partition::dim() const { return parts_.empty() ? 0 : parts_.back().offset + parts_.back().size; }

size_t Partition::index(const std::string& name) const {
  for (size_t k = 0; k < parts_.size(); ++k)
    if (parts_[k].name == name) return k;
  throw InvalidArgument(fmt::format("the partition {} has no part '{}' (its parts: {})", to_string(), name,
                                    fmt::join(names(), ", ")),
                        DDIM_WHERE_);
}

std::vector<std::string> Partition::names() const {
  std::vector<std::string> out;
  for (const auto& p : parts_) out.push_back(p.name);
  return out;
}

std::vector<std::string> Partition::attributes() const {
  std::vector<std::string> out;
  for (const auto& p : parts_)
    if (p.name != kRest) out.push_back(p.name);
  return out;
}

torch::Tensor Partition::part(const torch::Tensor& codes, size_t k) const {
  DDIM_CHECK_ARG(k < parts_.size(), "part {} of a partition of {} parts", k, parts_.size());
  DDIM_CHECK_ARG(codes.dim() == 2 && codes.size(1) == dim(),
                 "codes of shape {} do not fit the partition {} ({} dims)", fmt::join(codes.sizes(), "x"),
                 to_string(), dim());
  return codes.narrow(1, parts_[k].offset, parts_[k].size);
}

std::string Partition::to_string() const {
  std::vector<std::string> items;
  for (const auto& p : parts_) items.push_back(fmt::format("{}:{}", p.name, p.size));
  return fmt::format("{}", fmt::join(items, ","));
}

nlohmann::json Partition::to_json() const {
  auto j = nlohmann::json::array();
  for (const auto& p : parts_) j.push_back({{"name", p.name}, {"size", p.size}});
  return j;
}

Partition Partition::from_json(const nlohmann::json& j) {
  std::vector<std::pair<std::string, int64_t>> parts;
  for (const auto& p : j) parts.emplace_back(p.at("name").get<std::string>(), p.at("size").get<int64_t>());
  return Partition(parts);
}

torch::Tensor swap_partitions(const torch::Tensor& a, const torch::Tensor& b, const Partition& partition,
                              const std::vector<std::string>& names) {
  DDIM_CHECK_ARG(a.dim() == 2 && b.dim() == 2 && a.size(1) == partition.dim() &&
                     b.size(1) == partition.dim() && (b.size(0) == a.size(0) || b.size(0) == 1),
                 "swapping parts of {} needs codes [N, {}] and [N or 1, {}], got {} and {}",
                 partition.to_string(), partition.dim(), partition.dim(), fmt::join(a.sizes(), "x"),
                 fmt::join(b.sizes(), "x"));
  std::vector<bool> from_b(partition.size(), false);
  for (const auto& name : names) from_b[partition.index(name)] = true;
  std::vector<torch::Tensor> parts;
  for (size_t k = 0; k < partition.size(); ++k)
    parts.push_back(from_b[k] ? partition.part(b, k).expand({a.size(0), -1}) : partition.part(a, k));
  return torch::cat(parts, 1);
}

torch::Tensor reassemble_group(const torch::Tensor& centres, const torch::Tensor& members,
                               const Partition& p) {
  const auto m = static_cast<int64_t>(p.attributes().size());
  DDIM_CHECK_ARG(
      centres.dim() == 2 && centres.size(0) > 1 && centres.size(1) == p.dim() && members.dim() == 3 &&
          members.size(0) == centres.size(0) && members.size(1) == m && members.size(2) == p.dim(),
      "reassembling groups of the partition {} needs centres [B > 1, {}] and members [B, {}, {}], got "
      "{} and {}",
      p.to_string(), p.dim(), m, p.dim(), fmt::join(centres.sizes(), "x"), fmt::join(members.sizes(), "x"));
  const auto other = centres.roll(-1, 0);  // row i: centre i + 1
  std::vector<torch::Tensor> parts;
  for (size_t k = 0, j = 0; k < p.size(); ++k)
    parts.push_back(p.parts()[k].name == Partition::kRest
                        ? p.part(other, k)
                        : p.part(members.select(1, static_cast<int64_t>(j++)), k));
  return torch::cat(parts, 1);
}

torch::Tensor assemble_parts(const torch::Tensor& codes, const torch::Tensor& sources,
                             const Partition& partition) {
  DDIM_CHECK_ARG(codes.dim() == 2 && codes.size(1) == partition.dim(),
                 "codes of shape {} do not fit the partition {}", fmt::join(codes.sizes(), "x"),
                 partition.to_string());
  DDIM_CHECK_ARG(sources.dim() == 2 && sources.size(1) == static_cast<int64_t>(partition.size()),
                 "reassembly sources must be [B, {}] (one row per part), got {}", partition.size(),
                 fmt::join(sources.sizes(), "x"));
  const auto src = sources.to(torch::kInt64).to(codes.device());
  std::vector<torch::Tensor> parts;
  for (size_t k = 0; k < partition.size(); ++k)
    parts.push_back(partition.part(codes.index_select(0, src.select(1, static_cast<int64_t>(k))), k));
  return torch::cat(parts, 1);
}

}  // namespace ddim
