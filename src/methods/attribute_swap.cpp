#include "ddim/methods/attribute_swap.h"

#include <algorithm>
#include <cmath>

#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/data/counterfactual.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/metrics/metrics.h"

namespace ddim {
namespace {
// Random streams (rng.h: mix_seed(seed, stream)).
constexpr uint64_t kSwapRandomXtStream = 0x5a01, kDonorStream = 0x5a02, kGroupMemberStream = 0x5a03;

// Codes and x_T of the images that are edited.
struct Sources {
  torch::Tensor codes;  // [N, dim]
  torch::Tensor seeds;  // [N, *shape]
};

Sources embed_sources(const PartitionedModel& m, const torch::Tensor& images, const SwapOptions& o) {
  const auto& d = m.denoiser();
  DDIM_CHECK_ARG(images.dim() == 4 && images.sizes().slice(1).vec() == d.data().shape && images.size(0) > 0,
                 "images of shape {} do not fit the model, whose examples are {}",
                 fmt::join(images.sizes(), "x"), fmt::join(d.data().shape, "x"));
  o.embedding.validate(d);
  Sources s;
  s.codes = m.encode(images, o.embedding.batch);
  if (o.random_xt) {
    auto gen = make_generator(mix_seed(o.embedding.seed, kSwapRandomXtStream));
    std::vector<int64_t> shape = {images.size(0)};
    shape.insert(shape.end(), d.data().shape.begin(), d.data().shape.end());
    s.seeds = randn(shape, gen);
  } else {
    // x_T by inversion conditioned on the source's own decoder condition (z_sem-hat or z_sem).
    s.seeds = embed_images(d, images, o.embedding).seeds;
  }
  return s;
}

// Decodes codes [N, dim] from seeds [N, *shape]: images in [0, 1] of the model's shape (not cropped).
torch::Tensor decode(const PartitionedModel& m, const torch::Tensor& seeds, const torch::Tensor& codes,
                     const SwapOptions& o, const ProgressFn& progress = {}) {
  const auto& d = m.denoiser();
  return generate(d, seeds, o.embedding.grid(d.schedule()), SampleOptions{}, o.embedding.batch, progress,
                  m.condition(codes));
}

double fraction(const torch::Tensor& hits) {
  return hits.numel() == 0 ? NAN : hits.to(torch::kFloat64).mean().item<double>();
}

nlohmann::ordered_json number(double x) {
  return std::isnan(x) ? nlohmann::ordered_json() : nlohmann::ordered_json(x);
}

std::string percent(double x) { return std::isnan(x) ? "-" : fmt::format("{:.1f}%", 100 * x); }

}  // namespace

AttributeSwap swap_attributes(const PartitionedModel& m, const torch::Tensor& sources,
                              const torch::Tensor& donors, const std::vector<std::string>& attributes,
                              const SwapOptions& o) {
  DDIM_CHECK_ARG(!attributes.empty(), "name at least one attribute to swap (the parts: {})",
                 fmt::join(m.partition().names(), ", "));
  for (const auto& a : attributes) m.partition().index(a);
  DDIM_CHECK_ARG(
      donors.dim() == 4 && donors.size(0) > 0 && donors.sizes().slice(1) == sources.sizes().slice(1),
      "donors of shape {} do not match the sources' {}", fmt::join(donors.sizes(), "x"),
      fmt::join(sources.sizes(), "x"));
  const auto src = embed_sources(m, sources, o);
  const auto donor_codes = m.encode(donors, o.embedding.batch);
  const int64_t ns = sources.size(0), nd = donors.size(0);
  const auto& info = m.denoiser().data();
  AttributeSwap r;
  r.attributes = attributes;
  r.sources = info.crop(sources);
  r.donors = info.crop(donors);
  r.reconstructions = info.crop(decode(m, src.seeds, src.codes, o));
  const auto a = src.codes.repeat_interleave(nd, 0), b = donor_codes.repeat({ns, 1});
  const auto seeds = src.seeds.repeat_interleave(nd, 0);
  for (const auto& name : attributes) {
    auto images = info.crop(decode(m, seeds, swap_partitions(a, b, m.partition(), {name}), o));
    auto shape = images.sizes().vec();
    shape[0] = nd;
    shape.insert(shape.begin(), ns);
    r.swapped.push_back(images.reshape(shape));
  }
  return r;
}

ImageInterpolation interpolate_attribute(const PartitionedModel& m, const torch::Tensor& ends, int64_t frames,
                                         const std::string& attribute, const SwapOptions& o) {
  DDIM_CHECK_ARG(ends.dim() == 4 && ends.size(0) == 2,
                 "interpolation needs two end images [2, C, H, W], got {}", fmt::join(ends.sizes(), "x"));
  m.partition().index(attribute);
  const auto src = embed_sources(m, ends.slice(0, 0, 1), o);
  const auto codes = torch::cat({src.codes, m.encode(ends.slice(0, 1, 2), o.embedding.batch)});
  const auto line = interpolate_seeds(codes[0], codes[1], frames, Interpolation::Lerp);
  const auto path =
      swap_partitions(codes.slice(0, 0, 1).expand({frames, -1}), line, m.partition(), {attribute});
  const auto& info = m.denoiser().data();
  ImageInterpolation r;
  r.seeds = src.seeds.expand({frames, -1, -1, -1}).contiguous();
  r.codes = m.condition(path);
  r.frames = info.crop(decode(m, r.seeds, path, o));
  const auto lambdas = torch::linspace(0, 1, frames).view({-1, 1, 1, 1});
  const auto originals = info.crop(ends);
  r.blend = (1 - lambdas) * originals[0] + lambdas * originals[1];
  // Only the first frame reconstructs an end image; the last is the first with the second's part.
  r.ends = ReconstructionReport::compute(originals.slice(0, 0, 1), r.frames.slice(0, 0, 1));
  r.frame_to_frame_mse = mse_per_image(r.frames.slice(0, 1), r.frames.slice(0, 0, -1));
  return r;
}

GroupReassembly reassemble_groups(const PartitionedModel& m, const Dataset& data, int64_t n,
                                  const SwapOptions& o, const ProgressFn& progress) {
  DDIM_CHECK_ARG(n > 0, "the number of groups must be positive, got {}", n);
  DDIM_CHECK_ARG(data.is_image() && data.size() > 1, "{}: group reassembly needs images (at least two)",
                 data.spec);
  const auto& p = m.partition();
  const auto names = p.attributes();
  std::vector<torch::Tensor> labels;
  for (const auto& name : names)
    labels.push_back(data.attributes[find_attribute(data.attributes, name, data.spec)].labels);
  n = std::min(n, data.size());
  const auto centres = torch::arange(n);
  const auto images = data.get(centres);
  const auto src = embed_sources(m, images, o);
  GroupReassembly r;
  r.members = names.empty()
                  ? torch::zeros({n, 0}, torch::kInt64)
                  : GroupSampler(labels, mix_seed(o.embedding.seed, kGroupMemberStream)).members(centres, 0);
  // Part j from member j, rest from the centre.
  std::vector<torch::Tensor> parts;
  for (size_t k = 0, j = 0; k < p.size(); ++k) {
    if (p.parts()[k].name == Partition::kRest) {
      parts.push_back(p.part(src.codes, k));
      continue;
    }
    const auto member_codes =
        m.encode(data.get(r.members.select(1, static_cast<int64_t>(j++))), o.embedding.batch);
    parts.push_back(p.part(member_codes, k));
  }
  const auto& info = m.denoiser().data();
  r.originals = info.crop(images);
  r.reconstructions = info.crop(decode(m, src.seeds, src.codes, o, progress));
  r.reassembled = info.crop(decode(m, src.seeds, torch::cat(parts, 1), o, [&](int64_t done) {
    if (progress) progress(n + done);
  }));
  return r;
}

nlohmann::ordered_json SwapSuccess::to_json() const {
  nlohmann::ordered_json j;
  j["pairs"] = pairs;
  for (size_t k = 0; k < judged.size(); ++k)
    j["classifiers"][judged[k]] = {{"accuracy_on_real", real_accuracy[k]},
                                   {"kept_in_reconstructions", reconstruction_kept[k]}};
  for (size_t r = 0; r < swapped.size(); ++r) {
    nlohmann::ordered_json row = {{"differing_pairs", differing[r]},
                                  {"donor_value_taken", number(donor_taken[r])},
                                  {"others_kept", number(others_kept[r])},
                                  {"success", number(success[r])}};
    for (size_t k = 0; k < judged.size(); ++k)
      if (judged[k] != swapped[r]) row["kept"][judged[k]] = number(kept[r][k].item<double>());
    if (!truth_mse.empty())
      row["truth"] = {{"mse", number(truth_mse[r])},
                      {"ssim", number(truth_ssim[r])},
                      {"feature_distance", number(truth_feature_distance[r])},
                      {"unswapped_mse", number(unswapped_truth_mse[r])}};
    j["swaps"][swapped[r]] = row;
  }
  return j;
}

std::string SwapSuccess::to_markdown() const {
  std::string s = fmt::format("| swapped | differing pairs | donor's value | {} kept | success |\n",
                              fmt::format("{}", fmt::join(judged, " kept | ")));
  s += "|---|---|---|";
  for (size_t k = 0; k < judged.size(); ++k) s += "---|";
  s += "---|\n";
  for (size_t r = 0; r < swapped.size(); ++r) {
    s += fmt::format("| {} | {} | {} |", swapped[r], differing[r], percent(donor_taken[r]));
    for (size_t k = 0; k < judged.size(); ++k) s += fmt::format(" {} |", percent(kept[r][k].item<double>()));
    s += fmt::format(" {} |\n", percent(success[r]));
  }
  std::vector<std::string> acc;
  for (size_t k = 0; k < judged.size(); ++k)
    acc.push_back(
        fmt::format("{} {} / {}", judged[k], percent(real_accuracy[k]), percent(reconstruction_kept[k])));
  s += fmt::format("\nClassifiers on the real sources / on their unswapped decodings: {}.\n",
                   fmt::join(acc, ", "));
  if (!truth_mse.empty()) {
    s += "\nAgainst the true swaps (the source rendered with the donor's value), differing pairs:\n\n"
         "| swapped | MSE | SSIM | feature distance | MSE of the unswapped decoding "
         "|\n|---|---|---|---|---|\n";
    auto num = [](double x) { return std::isnan(x) ? std::string("-") : fmt::format("{:.4g}", x); };
    for (size_t r = 0; r < swapped.size(); ++r)
      s += fmt::format("| {} | {} | {} | {} | {} |\n", swapped[r], num(truth_mse[r]), num(truth_ssim[r]),
                       num(truth_feature_distance[r]), num(unswapped_truth_mse[r]));
  }
  return s;
}

SwapSuccess swap_success(const PartitionedModel& m, const Dataset& data,
                         const std::vector<AttributeClassifier>& classifiers, int64_t pairs,
                         const SwapOptions& o, const ProgressFn& progress) {
  DDIM_CHECK_ARG(pairs > 0 && data.size() >= 2,
                 "the swap success rate needs pairs > 0 and two examples, got {} and {}", pairs, data.size());
  DDIM_CHECK_ARG(!classifiers.empty(), "the swap success rate needs at least one attribute classifier");
  const int64_t n = std::min(pairs, data.size());
  SwapSuccess s;
  s.pairs = n;
  std::vector<torch::Tensor> labels;  // per judged attribute: int64 [size]
  for (const auto& c : classifiers) {
    DDIM_CHECK_ARG(c.network != nullptr, "the classifier of '{}' is missing", c.attribute);
    s.judged.push_back(c.attribute);
    labels.push_back(data.attributes[find_attribute(data.attributes, c.attribute, data.spec)].labels);
  }
  for (const auto& name : m.partition().attributes())
    if (std::find(s.judged.begin(), s.judged.end(), name) != s.judged.end()) s.swapped.push_back(name);
  DDIM_CHECK_ARG(!s.swapped.empty(), "no classifier judges an attribute of the partition {}",
                 m.partition().to_string());
  // Sources: the first n examples; donors uniform among the other examples.
  const auto src_idx = torch::arange(n);
  auto gen = make_generator(mix_seed(o.embedding.seed, kDonorStream));
  auto r =
      (rand({n}, gen).to(torch::kFloat64) * static_cast<double>(data.size() - 1)).floor().to(torch::kInt64);
  const auto donor_idx = r + (r >= src_idx).to(torch::kInt64);
  const auto images = data.get(src_idx);
  const auto src = embed_sources(m, images, o);
  const auto donor_codes = m.encode(data.get(donor_idx), o.embedding.batch);
  int64_t done = 0;
  auto report = [&](int64_t k) {
    if (progress) progress(done + k);
  };
  auto predictions = [&](const torch::Tensor& x) {
    std::vector<torch::Tensor> p;
    for (const auto& c : classifiers) p.push_back(classify(*c.network, x).first.to(torch::kInt64));
    return p;
  };
  const auto real = predictions(images);
  const auto reconstructions = decode(m, src.seeds, src.codes, o, report);
  const auto rec = predictions(reconstructions);
  const bool has_truth = has_counterfactuals(data);
  done += n;
  for (size_t k = 0; k < classifiers.size(); ++k) {
    const auto truth = labels[k].index_select(0, src_idx);
    s.real_accuracy.push_back(fraction(real[k] == truth));
    s.reconstruction_kept.push_back(fraction(rec[k] == truth));
  }
  s.kept = torch::full({static_cast<int64_t>(s.swapped.size()), static_cast<int64_t>(classifiers.size())},
                       NAN, torch::kFloat64);
  for (size_t row = 0; row < s.swapped.size(); ++row) {
    const auto& name = s.swapped[row];
    const auto swapped =
        decode(m, src.seeds, swap_partitions(src.codes, donor_codes, m.partition(), {name}), o, report);
    const auto p = predictions(swapped);
    done += n;
    const auto a = static_cast<size_t>(std::find(s.judged.begin(), s.judged.end(), name) - s.judged.begin());
    const auto donor_value = labels[a].index_select(0, donor_idx),
               source_value = labels[a].index_select(0, src_idx);
    const auto differ = donor_value != source_value;
    auto all_kept = torch::ones({n}, torch::kBool);
    for (size_t k = 0; k < classifiers.size(); ++k) {
      if (k == a) continue;
      const auto hit = p[k] == labels[k].index_select(0, src_idx);
      s.kept[static_cast<int64_t>(row)][static_cast<int64_t>(k)] = fraction(hit);
      all_kept &= hit;
    }
    const auto taken = p[a] == donor_value;
    s.differing.push_back(differ.sum().item<int64_t>());
    s.donor_taken.push_back(fraction(taken.masked_select(differ)));
    s.success.push_back(fraction((taken & all_kept).masked_select(differ)));
    const auto row_kept = s.kept[static_cast<int64_t>(row)];
    const auto finite = row_kept.isnan().logical_not();
    s.others_kept.push_back(fraction(row_kept.masked_select(finite)));
    if (!has_truth) continue;
    // The true swap of each differing pair: the source rendered with the donor's value.
    const auto pairs_idx = differ.nonzero().flatten();
    if (pairs_idx.numel() == 0) {
      for (auto* v : {&s.truth_mse, &s.truth_ssim, &s.truth_feature_distance, &s.unswapped_truth_mse})
        v->push_back(NAN);
      continue;
    }
    const auto& attr = data.attributes[find_attribute(data.attributes, name, data.spec)];
    std::vector<int64_t> rows;
    std::vector<std::string> values;
    for (int64_t i = 0; i < pairs_idx.numel(); ++i) {
      const int64_t k = pairs_idx[i].item<int64_t>();
      rows.push_back(src_idx[k].item<int64_t>());
      values.push_back(attr.values[donor_value[k].item<int64_t>()]);
    }
    // As the decodings: the model's shape, padding included (the classifiers read it so).
    const auto want = counterfactuals(data, rows, name, values).to(torch::kFloat32).div(255.0);
    const auto got = swapped.index_select(0, pairs_idx);
    const auto& info = m.denoiser().data();
    s.truth_mse.push_back(mse_per_image(info.crop(want), info.crop(got)).mean().item<double>());
    s.truth_ssim.push_back(ssim_per_image(info.crop(want), info.crop(got)).mean().item<double>());
    s.unswapped_truth_mse.push_back(
        mse_per_image(info.crop(want), info.crop(reconstructions.index_select(0, pairs_idx)))
            .mean()
            .item<double>());
    s.truth_feature_distance.push_back(
        feature_distance(*classifiers[a].network, want, got).mean().item<double>());
  }
  return s;
}

}  // namespace ddim
