#include "ddim/methods/gae.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "ddim/core/error.h"
#include "ddim/core/rng.h"

namespace ddim {

namespace nn = torch::nn;

namespace {
// Random streams of group sampling (rng.h: mix_seed(seed, stream, step)); 1-6 are the
// trainers' (data order, noise, dropout, previews, validation, initial weights).
constexpr uint64_t kGroupStream = 0x67a1, kReassemblyStream = 0x67a2;

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

// ------------------------------------------------------------------ the network

nlohmann::json GaeOptions::to_json() const {
  return {{"z_dim", z_dim},
          {"dis_dim", dis_dim},
          {"width", width},
          {"mlp_blocks", mlp_blocks},
          {"bottleneck_blocks", bottleneck_blocks},
          {"bottleneck_ratio", bottleneck_ratio},
          {"groups", groups}};
}

GaeOptions GaeOptions::from_json(const nlohmann::json& j) {
  GaeOptions o;
  o.z_dim = j.at("z_dim").get<int64_t>();
  o.dis_dim = j.at("dis_dim").get<int64_t>();
  o.width = j.value("width", o.width);
  o.mlp_blocks = j.value("mlp_blocks", o.mlp_blocks);
  o.bottleneck_blocks = j.value("bottleneck_blocks", o.bottleneck_blocks);
  o.bottleneck_ratio = j.value("bottleneck_ratio", o.bottleneck_ratio);
  o.groups = j.value("groups", o.groups);
  return o;
}

void GaeOptions::validate() const {
  DDIM_CHECK_ARG(z_dim > 0 && dis_dim > 0, "the GAE's code sizes must be positive, got z_sem {} and z_dis {}",
                 z_dim, dis_dim);
  DDIM_CHECK_ARG(
      width > 0 && mlp_blocks >= 0 && bottleneck_blocks >= 0 && mlp_blocks + bottleneck_blocks > 0,
      "the GAE needs a positive width and at least one block, got width {}, {} MLP and {} bottleneck "
      "blocks",
      width, mlp_blocks, bottleneck_blocks);
  DDIM_CHECK_ARG(bottleneck_ratio >= 1 && width / bottleneck_ratio > 0,
                 "the bottleneck ratio must be in [1, width], got {} for width {}", bottleneck_ratio, width);
  DDIM_CHECK_ARG(groups > 0 && width % groups == 0, "the GAE's width {} must be a multiple of its {} groups",
                 width, groups);
}

namespace {
// A residual block x + W2 silu(N2(W1 silu(N1(x)))), the inner width `inner` (the width itself
// for an MLP block, narrower for a bottleneck). Norms are LayerNorm or GroupNorm; the second
// linear map starts at zero, so every block starts as the identity.
class ResidualBlock1d : public nn::Module {
 public:
  ResidualBlock1d(int64_t width, int64_t inner, bool group_norm, int64_t groups) {
    auto norm = [&](const std::string& name, int64_t channels) -> std::shared_ptr<nn::Module> {
      if (group_norm)
        return register_module(name,
                               nn::GroupNorm(nn::GroupNormOptions(std::gcd(groups, channels), channels)));
      return register_module(name, nn::LayerNorm(nn::LayerNormOptions({channels})));
    };
    norm1_ = norm("norm1", width);
    norm2_ = norm("norm2", inner);
    fc1_ = register_module("fc1", nn::Linear(width, inner));
    fc2_ = register_module("fc2", nn::Linear(inner, width));
    nn::init::zeros_(fc2_->weight);
    nn::init::zeros_(fc2_->bias);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = fc1_->forward(torch::silu(normalize(*norm1_, x)));
    return x + fc2_->forward(torch::silu(normalize(*norm2_, h)));
  }

 private:
  static torch::Tensor normalize(nn::Module& norm, const torch::Tensor& x) {
    if (auto* g = norm.as<nn::GroupNorm>()) return g->forward(x);
    return norm.as<nn::LayerNorm>()->forward(x);
  }
  std::shared_ptr<nn::Module> norm1_, norm2_;
  nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
}  // namespace

// One half of the GAE: input map, MLP blocks, bottleneck blocks, norm + SiLU + output map.
class GaeCoder : public nn::Module {
 public:
  GaeCoder(int64_t in, int64_t out, const GaeOptions& o, bool group_norm) : group_norm_(group_norm) {
    input_ = register_module("input", nn::Linear(in, o.width));
    for (int64_t i = 0; i < o.mlp_blocks + o.bottleneck_blocks; ++i) {
      const int64_t inner = i < o.mlp_blocks ? o.width : o.width / o.bottleneck_ratio;
      blocks_.push_back(
          register_module(fmt::format("block{}", i),
                          std::make_shared<ResidualBlock1d>(o.width, inner, group_norm, o.groups)));
    }
    if (group_norm)
      gn_ = register_module("norm", nn::GroupNorm(nn::GroupNormOptions(o.groups, o.width)));
    else
      ln_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({o.width})));
    output_ = register_module("output", nn::Linear(o.width, out));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = input_->forward(x);
    for (auto& b : blocks_) h = b->forward(h);
    h = group_norm_ ? gn_->forward(h) : ln_->forward(h);
    return output_->forward(torch::silu(h));
  }

 private:
  bool group_norm_;
  nn::Linear input_{nullptr}, output_{nullptr};
  std::vector<std::shared_ptr<ResidualBlock1d>> blocks_;
  nn::GroupNorm gn_{nullptr};
  nn::LayerNorm ln_{nullptr};
};

Gae::Gae(const GaeOptions& o) : options_(o) {
  o.validate();
  encoder_ =
      register_module("encoder", std::make_shared<GaeCoder>(o.z_dim, o.dis_dim, o, /*group_norm=*/false));
  decoder_ =
      register_module("decoder", std::make_shared<GaeCoder>(o.dis_dim, o.z_dim, o, /*group_norm=*/true));
  mean_ = register_buffer("z_mean", torch::zeros({o.z_dim}));
  std_ = register_buffer("z_std", torch::ones({o.z_dim}));
}

void Gae::set_statistics(const torch::Tensor& codes) {
  DDIM_CHECK_ARG(codes.dim() == 2 && codes.size(1) == options_.z_dim && codes.size(0) > 1,
                 "the GAE's statistics need codes [N > 1, {}], got {}", options_.z_dim,
                 fmt::join(codes.sizes(), "x"));
  torch::NoGradGuard no_grad;
  const auto c = codes.to(torch::kFloat64);
  const auto std = c.std(0);
  mean_.copy_(c.mean(0));
  std_.copy_(torch::where(std > 1e-8, std, torch::ones_like(std)));
}

void Gae::track_statistics(bool on, double momentum) {
  DDIM_CHECK_ARG(momentum > 0 && momentum <= 1, "the statistics' momentum must be in (0, 1], got {}",
                 momentum);
  track_ = on;
  momentum_ = momentum;
}

torch::Tensor Gae::standardize(const torch::Tensor& z_sem) {
  DDIM_CHECK_ARG(z_sem.dim() == 2 && z_sem.size(1) == options_.z_dim,
                 "the GAE encodes semantic codes [N, {}], got {}", options_.z_dim,
                 fmt::join(z_sem.sizes(), "x"));
  if (!(track_ && is_training())) return (z_sem - mean_) / std_;
  DDIM_CHECK_ARG(z_sem.size(0) > 1, "batch statistics of z_sem need at least two codes, got {}",
                 z_sem.size(0));
  const auto mean = z_sem.mean(0), std = (z_sem.var(0, /*unbiased=*/false) + 1e-8).sqrt();
  {
    torch::NoGradGuard no_grad;
    mean_.mul_(1 - momentum_).add_(mean.detach().to(mean_.dtype()), momentum_);
    std_.mul_(1 - momentum_).add_(std.detach().to(std_.dtype()), momentum_);
  }
  return (z_sem - mean) / std;
}

torch::Tensor Gae::encode_standardized(const torch::Tensor& z) { return encoder_->forward(z); }

torch::Tensor Gae::encode(const torch::Tensor& z_sem) { return encode_standardized(standardize(z_sem)); }

torch::Tensor Gae::decode_standardized(const torch::Tensor& z_dis) {
  DDIM_CHECK_ARG(z_dis.dim() == 2 && z_dis.size(1) == options_.dis_dim,
                 "the GAE decodes codes [N, {}], got {}", options_.dis_dim, fmt::join(z_dis.sizes(), "x"));
  return decoder_->forward(z_dis);
}

torch::Tensor Gae::decode(const torch::Tensor& z_dis) { return decode_standardized(z_dis) * std_ + mean_; }

// ------------------------------------------------------------------ losses

namespace {
// Codes of centres and members, standardised and encoded once.
struct Encoded {
  torch::Tensor zc, zm;          // standardised z_sem: [B, d], [B, m, d]
  torch::Tensor ec, em;          // z_dis: [B, k], [B, m, k]
  torch::Tensor reconstruction;  // L_r over all of them
};

Encoded encode_group(Gae& gae, const Partition& p, const torch::Tensor& centres, const torch::Tensor& members,
                     Loss loss) {
  const auto m = static_cast<int64_t>(p.attributes().size());
  DDIM_CHECK_ARG(
      centres.dim() == 2 && members.dim() == 3 && members.size(0) == centres.size(0) &&
          members.size(1) == m && members.size(2) == centres.size(1),
      "a group batch of the partition {} needs centres [B, d] and members [B, {}, d], got {} and {}",
      p.to_string(), m, fmt::join(centres.sizes(), "x"), fmt::join(members.sizes(), "x"));
  DDIM_CHECK_ARG(gae.options().dis_dim == p.dim(), "the GAE's z_dis has {} dimensions, the partition {} {}",
                 gae.options().dis_dim, p.to_string(), p.dim());
  const int64_t b = centres.size(0), d = centres.size(1);
  const auto all = gae.standardize(torch::cat({centres, members.reshape({b * m, d})}));
  const auto e = gae.encode_standardized(all);
  Encoded g;
  g.zc = all.narrow(0, 0, b);
  g.zm = all.narrow(0, b, b * m).view({b, m, d});
  g.ec = e.narrow(0, 0, b);
  g.em = e.narrow(0, b, b * m).view({b, m, e.size(1)});
  // The targets are held fixed: L_dis trains the encoder of z_sem through the GAE's input
  // only, never by moving z_sem towards what the GAE makes of it.
  g.reconstruction = distance(gae.decode_standardized(e), all.detach(), loss);
  return g;
}

torch::Tensor swap_term(Gae& gae, const Partition& p, const Encoded& g, Loss loss) {
  const auto names = p.attributes();
  if (names.empty()) return torch::zeros({}, g.ec.options());
  // Part j exchanged between the centre and member j, both ways (GZS-Net's swap
  // reconstruction), and the centre reassembled from every member's shared part (its rest from
  // another centre: reassemble_group).
  std::vector<torch::Tensor> codes, targets;
  for (size_t j = 0; j < names.size(); ++j) {
    const auto mj = g.em.select(1, static_cast<int64_t>(j));
    codes.push_back(swap_partitions(g.ec, mj, p, {names[j]}));
    targets.push_back(g.zc);
    codes.push_back(swap_partitions(mj, g.ec, p, {names[j]}));
    targets.push_back(g.zm.select(1, static_cast<int64_t>(j)));
  }
  const auto swapped =
      distance(gae.decode_standardized(torch::cat(codes)), torch::cat(targets).detach(), loss);
  const auto rebuilt =
      distance(gae.decode_standardized(reassemble_group(g.ec, g.em, p)), g.zc.detach(), loss);
  return 0.5 * (swapped + rebuilt);
}

torch::Tensor reassembly_term(Gae& gae, const Partition& p, const torch::Tensor& codes,
                              const torch::Tensor& sources, Loss loss) {
  // eq. 10: z_dis -f-> z_u -D-> z-hat -E-> z_u-hat, an L1 (or L2) distance between z_u-hat and z_u.
  const auto zu = assemble_parts(codes, sources, p);
  const auto back = gae.encode_standardized(gae.decode_standardized(zu));
  return distance(back, zu.detach(), loss);
}
}  // namespace

torch::Tensor gae_reconstruction_loss(Gae& gae, const torch::Tensor& z_sem, Loss loss) {
  const auto z = gae.standardize(z_sem);
  return distance(gae.decode_standardized(gae.encode_standardized(z)), z.detach(), loss);
}

torch::Tensor supervised_swap_loss(Gae& gae, const Partition& partition, const torch::Tensor& centres,
                                   const torch::Tensor& members, Loss loss) {
  return swap_term(gae, partition, encode_group(gae, partition, centres, members, loss), loss);
}

torch::Tensor reassembly_loss(Gae& gae, const Partition& partition, const torch::Tensor& z_sem,
                              const torch::Tensor& sources, Loss loss) {
  DDIM_CHECK_ARG(gae.options().dis_dim == partition.dim(),
                 "the GAE's z_dis has {} dimensions, the partition {} {}", gae.options().dis_dim,
                 partition.to_string(), partition.dim());
  return reassembly_term(gae, partition, gae.encode(z_sem), sources, loss);
}

GaeLosses gae_losses(Gae& gae, const Partition& partition, const torch::Tensor& centres,
                     const torch::Tensor& members, const torch::Tensor& sources, const GaeLossWeights& w,
                     Loss loss) {
  const auto g = encode_group(gae, partition, centres, members, loss);
  GaeLosses l;
  l.reconstruction = g.reconstruction;
  l.swap = swap_term(gae, partition, g, loss);
  l.reassembly = reassembly_term(gae, partition, g.ec, sources, loss);
  l.total = l.reconstruction + w.lambda_ss * l.swap + w.lambda_ur * l.reassembly;  // eq. 11
  return l;
}

// ------------------------------------------------------------------ GROUP sampling

GroupSampler::GroupSampler(const std::vector<torch::Tensor>& labels, uint64_t seed) : seed_(seed) {
  for (const auto& l : labels) {
    DDIM_CHECK_ARG(l.dim() == 1 && l.size(0) > 0 && (labels_.empty() || l.size(0) == labels_[0].size(0)),
                   "group sampling needs one label per example for every attribute");
    auto y = l.to(torch::kInt64).cpu().contiguous();
    DDIM_CHECK_ARG(y.min().item<int64_t>() >= 0, "attribute labels must not be negative");
    const auto sorted = y.sort(/*stable=*/true, 0, false);
    const auto counts = torch::bincount(y);
    labels_.push_back(y);
    by_value_.push_back(std::get<1>(sorted).contiguous());
    starts_.push_back(torch::cat({torch::zeros({1}, torch::kInt64), counts.cumsum(0)}));
  }
  for (auto& order : by_value_) {
    // The position of each example in its value's run, to skip the centre itself.
    auto pos = torch::empty_like(order);
    pos.index_put_({order}, torch::arange(order.size(0), torch::kInt64));
    positions_.push_back(pos);
  }
}

torch::Tensor GroupSampler::members(const torch::Tensor& centres, int64_t step, int64_t world,
                                    int64_t rank) const {
  const int64_t b = centres.size(0), m = attributes();
  DDIM_CHECK_ARG(world >= 1 && rank >= 0 && rank < world, "rank {} of {} processes", rank, world);
  auto gen = make_generator(mix_seed(seed_, kGroupStream, static_cast<uint64_t>(step)));
  const auto u = rand({b * world, std::max<int64_t>(m, 1)}, gen).to(torch::kFloat64).narrow(0, rank * b, b);
  const auto c = centres.to(torch::kInt64).cpu();
  std::vector<torch::Tensor> out;
  for (int64_t j = 0; j < m; ++j) {
    const auto v = labels_[j].index_select(0, c);
    const auto start = starts_[j].index_select(0, v);
    const auto count = starts_[j].index_select(0, v + 1) - start;
    const auto own = positions_[j].index_select(0, c) - start;
    // Uniform among the other examples of the value (the centre itself when it is alone).
    auto r = (u.select(1, j) * (count - 1).clamp_min(0).to(torch::kFloat64)).floor().to(torch::kInt64);
    r = torch::where(count > 1, r + (r >= own).to(torch::kInt64), torch::zeros_like(r));
    out.push_back(by_value_[j].index_select(0, start + r));
  }
  if (out.empty()) return torch::zeros({b, 0}, torch::kInt64);
  return torch::stack(out, 1);
}

torch::Tensor GroupSampler::reassembly(int64_t batch, int64_t parts, int64_t step) const {
  DDIM_CHECK_ARG(batch > 0 && parts > 0, "a reassembly needs a batch and parts, got {} and {}", batch, parts);
  auto gen = make_generator(mix_seed(seed_, kReassemblyStream, static_cast<uint64_t>(step)));
  std::vector<torch::Tensor> cols;
  for (int64_t k = 0; k < parts; ++k) cols.push_back(randperm(batch, gen));
  return torch::stack(cols, 1);
}

// ------------------------------------------------------------------ the model

DiffuseGAE::DiffuseGAE(std::shared_ptr<EpsNetwork> autoencoder, std::shared_ptr<Gae> gae)
    : autoencoder_(std::move(autoencoder)), gae_(std::move(gae)) {
  DDIM_CHECK_ARG(autoencoder_ && autoencoder_->conditioning() == Conditioning::Semantic,
                 "a DiffuseGAE needs a diffusion autoencoder");
  DDIM_CHECK_ARG(gae_ && gae_->options().z_dim == autoencoder_->cond_dim(),
                 "the GAE encodes {}-dimensional codes, the autoencoder's z_sem has {}",
                 gae_ ? gae_->options().z_dim : 0, autoencoder_->cond_dim());
  register_module("autoencoder", autoencoder_);
  register_module("gae", gae_);
}

torch::Tensor DiffuseGAE::condition(const torch::Tensor& x0) {
  return gae_->forward(autoencoder_->condition(x0));
}

torch::Tensor DiffuseGAE::codes(const torch::Tensor& x0) { return gae_->encode(autoencoder_->condition(x0)); }

nlohmann::json DiffuseGAE::describe() const {
  return {
      {"kind", "diffuse-gae"}, {"autoencoder", autoencoder_->describe()}, {"gae", gae_->options().to_json()}};
}

nlohmann::json AutoencoderRef::to_json() const {
  return {{"path", path}, {"fingerprint", fingerprint}, {"step", step}, {"finetuned", finetuned}};
}

AutoencoderRef AutoencoderRef::from_json(const nlohmann::json& j) {
  AutoencoderRef r;
  r.path = j.value("path", std::string());
  r.fingerprint = j.value("fingerprint", std::string());
  r.step = j.value("step", int64_t{0});
  r.finetuned = j.value("finetuned", false);
  return r;
}

Checkpoint autoencoder_checkpoint(const Checkpoint& ck, const std::string& what, Weights weights) {
  DDIM_CHECK(ck.kind() == "gae",
             "{}: is a ddim {} checkpoint, but a DiffuseGAE (a GAE checkpoint) is needed here", what,
             ck.kind().empty() ? "unknown" : ck.kind());
  Checkpoint ae;
  DDIM_CHECK(ck.meta.contains("autoencoder_model") && ck.meta.at("autoencoder_model").is_object(),
             "{}: damaged GAE description: no 'autoencoder_model' object", what);
  ae.meta = ck.meta.at("autoencoder_model");
  ae.meta["kind"] = "denoiser";
  // The description names the Diff-AE's data but not how it was read (a faces set resized to 32x32): the GAE
  // trained on the Diff-AE's data as the Diff-AE reads it, so its data options serve the Diff-AE's commands.
  if (!ae.meta.contains("data_options") && ck.meta.contains("data_options"))
    ae.meta["data_options"] = ck.meta.at("data_options");
  const bool raw = weights == Weights::Raw;
  const std::string state = raw && ck.states.count("autoencoder_raw") ? "autoencoder_raw" : "autoencoder";
  const auto it = ck.states.find(state);
  DDIM_CHECK(it != ck.states.end(), "{}: has no '{}' weights", what, state);
  ae.states["ema"] = it->second;
  return ae;
}

GaeModel gae_from_checkpoint(const Checkpoint& ck, const std::string& what, Weights weights) {
  const Checkpoint ae = autoencoder_checkpoint(ck, what, weights);  // checks the kind first
  const bool raw = weights == Weights::Raw;
  GaeOptions options;
  Partition partition;
  AutoencoderRef ref;
  std::vector<Attribute> attributes;
  try {
    options = GaeOptions::from_json(ck.meta.at("gae"));
    partition = Partition::from_json(ck.meta.at("partition"));
    ref = AutoencoderRef::from_json(ck.meta.at("autoencoder"));
    for (const auto& a : ck.meta.value("attributes", nlohmann::json::array()))
      attributes.push_back(
          {a.at("name").get<std::string>(), a.at("values").get<std::vector<std::string>>(), {}});
  } catch (const nlohmann::json::exception& e) {
    DDIM_FAIL("{}: damaged GAE description: {}", what, e.what());
  }
  auto autoencoder = denoiser_from_checkpoint(ae, what, Weights::EMA);
  auto gae = std::make_shared<Gae>(options);
  const std::string state = raw ? "model" : "ema";
  const auto it = ck.states.find(state);
  DDIM_CHECK(it != ck.states.end(), "{}: has no '{}' weights", what, state);
  load_module_state(*gae, it->second, what);
  gae->eval();
  for (auto& p : gae->parameters()) p.set_requires_grad(false);
  DDIM_CHECK(options.dis_dim == partition.dim(), "{}: the GAE's z_dis has {} dimensions, its partition {} {}",
             what, options.dis_dim, partition.to_string(), partition.dim());
  auto net = std::make_shared<DiffuseGAE>(autoencoder.network_ptr(), gae);
  net->eval();
  Denoiser model(net, ScheduleOptions::from_json(ae.meta.at("schedule")), autoencoder.stats(),
                 autoencoder.data());
  return {model, autoencoder, gae, partition, ref, attributes};
}

GaeModel load_gae(const std::string& path, Weights weights) {
  return gae_from_checkpoint(load_checkpoint(path), path, weights);
}

// ------------------------------------------------------------------ partitioned codes

PartitionedModel::PartitionedModel(const GaeModel& m)
    : denoiser_(m.denoiser),
      partition_(m.partition),
      gae_(m.gae),
      autoencoder_(m.autoencoder.network_ptr()) {}

PartitionedModel::PartitionedModel(const Denoiser& autoencoder, const Partition& partition)
    : denoiser_(autoencoder), partition_(partition), autoencoder_(autoencoder.network_ptr()) {
  const int64_t d = autoencoder.network().cond_dim();
  DDIM_CHECK_ARG(d > 0, "the model is not a diffusion autoencoder: it has no semantic code to divide");
  DDIM_CHECK_ARG(partition.dim() == d, "the partition {} covers {} dimensions, but z_sem has {}",
                 partition.to_string(), partition.dim(), d);
}

torch::Tensor PartitionedModel::encode(const torch::Tensor& images, int64_t batch) const {
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  DDIM_CHECK_ARG(images.dim() == 4 && images.size(0) > 0, "expected images [N, C, H, W], got {}",
                 fmt::join(images.sizes(), "x"));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    const auto x =
        denoiser_.standardize(images.slice(0, i, std::min(images.size(0), i + batch)).to(denoiser_.device()));
    auto z = autoencoder_->condition(x);
    out.push_back((gae_ ? gae_->encode(z) : z).to(torch::kCPU));
  }
  return torch::cat(out);
}

torch::Tensor PartitionedModel::condition(const torch::Tensor& codes) const {
  DDIM_CHECK_ARG(codes.dim() == 2 && codes.size(1) == partition_.dim(),
                 "codes of shape {} do not fit the partition {}", fmt::join(codes.sizes(), "x"),
                 partition_.to_string());
  if (!gae_) return codes.to(torch::kFloat32).cpu();
  torch::NoGradGuard no_grad;
  return gae_->decode(codes.to(torch::kFloat32).to(denoiser_.device())).to(torch::kCPU);
}

std::string PartitionedModel::describe() const {
  return gae_ ? fmt::format("DiffuseGAE (z_dis {})", partition_.to_string())
              : fmt::format("Diff-AE (z_sem {})", partition_.to_string());
}

}  // namespace ddim
