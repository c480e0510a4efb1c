// `ddim data info` and `ddim data grid`: look at a data set before training on it.
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

#include "commands.h"
#include "common.h"
#include "ddim/error.h"
#include "ddim/image.h"
#include "ddim/normalization.h"
#include "ddim/plot.h"

namespace ddim::cli {
namespace {

struct InfoOptions {
  DataArgs data;
  bool json = false;
};

struct GridOptions {
  DataArgs data;
  int64_t n = 64;
  int64_t columns = 0;
  std::string out = "grid.png";
};

int run_info(const InfoOptions& o) {
  init_runtime();
  const auto start = std::chrono::steady_clock::now();
  const auto ds = o.data.load();
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto stats = Standardizer::fit(ds);
  // From the stored bytes: a float copy of a large set (all 374,400 fonts) would not fit.
  const double scale = ds.is_image() ? 1.0 / 255.0 : 1.0;
  nlohmann::ordered_json j;
  j["data"] = ds.spec;
  j["split"] = to_string(ds.split);
  j["examples"] = ds.size();
  j["shape"] = ds.example_shape();
  j["kind"] = ds.is_image() ? "images" : "points";
  j["min"] = ds.storage.min().item<double>() * scale;
  j["max"] = ds.storage.max().item<double>() * scale;
  j["mean"] =
      std::vector<double>(stats.mean.data_ptr<float>(), stats.mean.data_ptr<float>() + stats.mean.numel());
  j["std"] =
      std::vector<double>(stats.std.data_ptr<float>(), stats.std.data_ptr<float>() + stats.std.numel());
  j["padding"] = {ds.padding.top, ds.padding.bottom, ds.padding.left, ds.padding.right};
  j["storage_mb"] = static_cast<double>(ds.storage.nbytes()) / 1e6;
  j["load_seconds"] = load_s;
  if (ds.labels.defined()) {
    auto counts = torch::bincount(ds.labels, {}, std::max<int64_t>(ds.classes.size(), 1));
    nlohmann::ordered_json c = nlohmann::ordered_json::object();
    for (int64_t k = 0; k < counts.size(0); ++k) {
      const std::string name =
          k < static_cast<int64_t>(ds.classes.size()) ? ds.classes[k] : std::to_string(k);
      c[name] = counts[k].item<int64_t>();
    }
    j["classes"] = c;
  }
  if (!ds.attributes.empty()) {
    j["class_attribute"] = ds.label_attribute;
    auto attrs = nlohmann::ordered_json::array();
    for (const auto& a : ds.attributes) {
      const auto counts = torch::bincount(a.labels, {}, static_cast<int64_t>(a.values.size()));
      attrs.push_back({{"name", a.name},
                       {"values", a.values},
                       {"counts", std::vector<int64_t>(counts.data_ptr<int64_t>(),
                                                       counts.data_ptr<int64_t>() + counts.numel())}});
    }
    j["attributes"] = attrs;
  }
  if (o.json) {
    std::cout << j.dump() << std::endl;
    return 0;
  }
  std::cout << fmt::format("data set     {} (split: {})\n", ds.spec, to_string(ds.split));
  std::cout << fmt::format("examples     {}\n", ds.size());
  std::string shape = fmt::format("{}", fmt::join(ds.example_shape(), "x"));
  if (ds.padding.any())
    shape += fmt::format(" (zero-padded by {} px top, {} bottom, {} left, {} right)", ds.padding.top,
                         ds.padding.bottom, ds.padding.left, ds.padding.right);
  std::cout << fmt::format("shape        {}\n", shape);
  std::cout << fmt::format("storage      {}, {:.1f} MB\n", ds.is_image() ? "uint8" : "float32",
                           j["storage_mb"].get<double>());
  std::cout << fmt::format("values       [{:.4g}, {:.4g}]{}\n", j["min"].get<double>(),
                           j["max"].get<double>(), ds.is_image() ? " (images in [0, 1])" : "");
  for (int64_t c = 0; c < stats.mean.size(0); ++c)
    std::cout << fmt::format("{:12} {} {}: mean {:.4f}, std {:.4f}\n", c == 0 ? "statistics" : "",
                             ds.is_image() ? "channel" : "coordinate", c, stats.mean[c].item<float>(),
                             stats.std[c].item<float>());
  if (j.contains("classes")) {
    std::vector<std::string> parts;
    for (const auto& [name, count] : j["classes"].items())
      parts.push_back(fmt::format("{} {}", name, count.get<int64_t>()));
    std::cout << fmt::format("classes      {}\n", fmt::join(parts, ", "));
  }
  for (size_t i = 0; i < ds.attributes.size(); ++i) {
    const auto& a = ds.attributes[i];
    const size_t shown = std::min<size_t>(a.values.size(), 8);
    std::vector<std::string> names(a.values.begin(), a.values.begin() + shown);
    if (shown < a.values.size()) names.push_back("...");
    std::cout << fmt::format("{:12} {}: {} values ({}){}\n", i == 0 ? "attributes" : "", a.name,
                             a.values.size(), fmt::join(names, ", "),
                             a.name == ds.label_attribute ? ", the class label" : "");
  }
  std::cout << fmt::format("loaded in    {:.2f} s\n", load_s);
  return 0;
}

int run_grid(const GridOptions& o) {
  init_runtime();
  if (parse_data_spec(o.data.spec).name == "toy") {
    // Points: a scatter plot of the whole set is the picture people want.
    const auto pts = o.data.load().all();
    PlotOptions p;
    p.title = fmt::format("{} ({} points)", o.data.spec, pts.size(0));
    p.xlabel = "x";
    p.ylabel = "y";
    p.equal_axes = true;
    plot_xy(o.out, {Series::points("data", pts.select(1, 0), pts.select(1, 1))}, p);
  } else {
    auto args = o.data;
    if (args.limit == 0 || args.limit > o.n) args.limit = o.n;
    const auto images = args.load().all();
    const int64_t columns =
        o.columns > 0 ? o.columns : static_cast<int64_t>(std::ceil(std::sqrt(double(images.size(0)))));
    write_png(o.out, make_grid(images, columns));
  }
  spdlog::info("wrote {}", o.out);
  return 0;
}

}  // namespace

void setup_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Inspect a data set: statistics and a picture");
  data->require_subcommand(1);

  auto info = std::make_shared<InfoOptions>();
  auto* sub_info = data->add_subcommand(
      "info",
      "Print size, shape, value range, per-channel statistics, class counts and attributes of a data set");
  add_data_options(sub_info, info->data);
  sub_info->add_flag("--json", info->json, "Print one JSON object instead of text");
  on_run(sub_info, [info] { return run_info(*info); });

  auto grid = std::make_shared<GridOptions>();
  auto* sub_grid = data->add_subcommand(
      "grid", "Write a PNG grid of the first N examples (a scatter plot for 2-D point sets)");
  add_data_options(sub_grid, grid->data);
  sub_grid->add_option("--n", grid->n, "Number of examples")->check(kPositive)->capture_default_str();
  sub_grid->add_option("--columns", grid->columns, "Images per row (0: a square grid)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub_grid->add_option("--out", grid->out, "Output PNG file")->capture_default_str();
  on_run(sub_grid, [grid] { return run_grid(*grid); });
}

}  // namespace ddim::cli
