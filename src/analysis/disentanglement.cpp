#include "ddim/analysis/disentanglement.h"

#include <cmath>

#include "ddim/core/error.h"

namespace ddim {

namespace {
const Attribute& attribute_of(const std::vector<Attribute>& attributes, const std::string& name, int64_t n,
                              const char* which) {
  const auto& a = attributes[find_attribute(attributes, name, which)];
  DDIM_CHECK_ARG(a.labels.defined() && a.labels.dim() == 1 && a.labels.size(0) == n,
                 "the {} codes have {} examples, but attribute '{}' has {} labels", which, n, name,
                 a.labels.defined() ? a.labels.numel() : 0);
  return a;
}
}  // namespace

double Disentanglement::diagonal() const {
  double sum = 0;
  int64_t n = 0;
  for (size_t r = 0; r < attributes.size(); ++r)
    for (size_t c = 0; c < parts.size(); ++c)
      if (parts[c] == attributes[r]) sum += accuracy[r][c].item<double>(), ++n;
  return n ? sum / static_cast<double>(n) : NAN;
}

double Disentanglement::off_diagonal() const {
  double sum = 0;
  int64_t n = 0;
  for (size_t r = 0; r < attributes.size(); ++r)
    for (size_t c = 0; c < parts.size(); ++c)
      if (parts[c] != attributes[r] && parts[c] != Partition::kRest)
        sum += accuracy[r][c].item<double>(), ++n;
  return n ? sum / static_cast<double>(n) : NAN;
}

nlohmann::ordered_json Disentanglement::to_json() const {
  nlohmann::ordered_json j;
  j["train_codes"] = train;
  j["test_codes"] = test;
  j["parts"] = parts;
  const double d = diagonal(), o = off_diagonal();
  j["diagonal_accuracy"] = std::isnan(d) ? nlohmann::ordered_json() : nlohmann::ordered_json(d);
  j["off_diagonal_accuracy"] = std::isnan(o) ? nlohmann::ordered_json() : nlohmann::ordered_json(o);
  for (size_t r = 0; r < attributes.size(); ++r) {
    nlohmann::ordered_json row;
    row["values"] = values[r];
    row["chance"] = chance[r];
    row["whole_code_accuracy"] = whole[r];
    for (size_t c = 0; c < parts.size(); ++c) {
      row["accuracy"][parts[c]] = accuracy[r][c].item<double>();
      row["perplexity"][parts[c]] = perplexity[r][c].item<double>();
    }
    j["attributes"][attributes[r]] = row;
  }
  return j;
}

std::string Disentanglement::to_markdown() const {
  auto table = [&](const torch::Tensor& m, const char* what, bool percent) {
    std::string s = fmt::format("| {} | {} | whole code | chance |\n|---|", what, fmt::join(parts, " | "));
    for (size_t c = 0; c < parts.size() + 2; ++c) s += "---|";
    s += "\n";
    for (size_t r = 0; r < attributes.size(); ++r) {
      s += fmt::format("| {} ({}) |", attributes[r], values[r]);
      for (size_t c = 0; c < parts.size(); ++c) {
        const double v = m[r][c].item<double>();
        const bool own = parts[c] == attributes[r];
        const auto text = percent ? fmt::format("{:.3f}", v) : fmt::format("{:.2f}", v);
        s += own ? fmt::format(" **{}** |", text) : fmt::format(" {} |", text);
      }
      s += percent ? fmt::format(" {:.3f} | {:.3f} |\n", whole[r], chance[r])
                   : fmt::format(" - | {} |\n", values[r]);
    }
    return s;
  };
  return table(accuracy, "accuracy", true) + "\n" + table(perplexity, "perplexity", false);
}

Disentanglement disentanglement(const torch::Tensor& train_codes,
                                const std::vector<Attribute>& train_attributes,
                                const torch::Tensor& test_codes,
                                const std::vector<Attribute>& test_attributes, const Partition& partition,
                                const std::vector<std::string>& attributes, const ProbeOptions& options) {
  DDIM_CHECK_ARG(
      train_codes.dim() == 2 && test_codes.dim() == 2 && train_codes.size(1) == partition.dim() &&
          test_codes.size(1) == partition.dim() && train_codes.size(0) > 1 && test_codes.size(0) > 0,
      "the disentanglement analysis needs codes [N, {}] for the partition {}, got {} and {}", partition.dim(),
      partition.to_string(), fmt::join(train_codes.sizes(), "x"), fmt::join(test_codes.sizes(), "x"));
  Disentanglement d;
  d.parts = partition.names();
  d.attributes = attributes.empty() ? partition.attributes() : attributes;
  DDIM_CHECK_ARG(!d.attributes.empty(), "the partition {} names no attribute to read", partition.to_string());
  d.train = train_codes.size(0);
  d.test = test_codes.size(0);
  const auto rows = static_cast<int64_t>(d.attributes.size()), cols = static_cast<int64_t>(d.parts.size());
  d.accuracy = torch::zeros({rows, cols}, torch::kFloat64);
  d.perplexity = torch::zeros({rows, cols}, torch::kFloat64);
  const auto xtr = train_codes.to(torch::kFloat32).cpu(), xte = test_codes.to(torch::kFloat32).cpu();
  for (int64_t r = 0; r < rows; ++r) {
    const auto& name = d.attributes[static_cast<size_t>(r)];
    const auto& a = attribute_of(train_attributes, name, d.train, "training");
    const auto& b = attribute_of(test_attributes, name, d.test, "test");
    const auto classes = static_cast<int64_t>(std::max(a.values.size(), b.values.size()));
    const auto ytr = a.labels.to(torch::kInt64).cpu(), yte = b.labels.to(torch::kInt64).cpu();
    d.values.push_back(classes);
    d.chance.push_back(torch::bincount(yte).max().item<double>() / static_cast<double>(d.test));
    for (int64_t c = 0; c < cols; ++c) {
      const auto probe = fit_linear_probe(partition.part(xtr, static_cast<size_t>(c)), ytr, classes, options);
      const auto part = partition.part(xte, static_cast<size_t>(c));
      d.accuracy[r][c] = probe.accuracy(part, yte);
      d.perplexity[r][c] = probe.perplexity(part, yte);
    }
    d.whole.push_back(fit_linear_probe(xtr, ytr, classes, options).accuracy(xte, yte));
  }
  return d;
}

}  // namespace ddim
