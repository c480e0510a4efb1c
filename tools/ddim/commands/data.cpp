// `ddim data info` and `ddim data grid`: look at a data set before training on it.
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

#include "commands.h"
#include "common/common.h"
#include "common/progress.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/names.h"
#include "ddim/data/counterfactual.h"
#include "ddim/data/faces.h"
#include "ddim/data/normalization.h"
#include "ddim/io/image.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"
#include "ddim/pictures/plot.h"

namespace ddim::cli {
namespace {

struct InfoOptions {
  DataSource data;
  bool json = false;
};

struct RenderFacesOptions {
  std::string out;  // empty: the cache, where --data faces looks
  FaceOptions faces;
  std::vector<std::string> p;
};

struct CounterfactualOptions {
  DataSource data;
  std::string attribute;
  std::vector<std::string> values;
  int64_t n = 8;
  std::string out = "counterfactuals.png";
};

struct GridOptions {
  DataSource data;
  int64_t n = 64;
  int64_t columns = 0;
  std::string out = "grid.png";
};

nlohmann::ordered_json describe(const Dataset& ds, const Standardizer& stats, double load_s) {
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
  j["mean"] = to_vector(stats.mean);
  j["std"] = to_vector(stats.std);
  j["padding"] = {ds.padding.top, ds.padding.bottom, ds.padding.left, ds.padding.right};
  j["storage_mb"] = static_cast<double>(ds.storage.nbytes()) / 1e6;
  j["load_seconds"] = load_s;
  if (ds.labels.defined()) {
    const auto info = DataInfo::of(ds);
    auto counts = torch::bincount(ds.labels, {}, std::max<int64_t>(ds.classes.size(), 1));
    nlohmann::ordered_json c = nlohmann::ordered_json::object();
    for (int64_t k = 0; k < counts.size(0); ++k) c[info.class_name(k)] = counts[k].item<int64_t>();
    j["classes"] = c;
  }
  if (!ds.attributes.empty()) {
    j["class_attribute"] = ds.label_attribute;
    auto attrs = nlohmann::ordered_json::array();
    for (const auto& a : ds.attributes) {
      const auto counts = torch::bincount(a.labels, {}, static_cast<int64_t>(a.values.size()));
      const auto c = counts.contiguous();
      attrs.push_back(
          {{"name", a.name},
           {"values", a.values},
           {"counts", std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel())}});
    }
    j["attributes"] = attrs;
  }
  return j;
}

void print(const Dataset& ds, const Standardizer& stats, const nlohmann::ordered_json& j) {
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
  std::cout << fmt::format("loaded in    {:.2f} s\n", j["load_seconds"].get<double>());
}

int run_info(const InfoOptions& o) {
  init_runtime();
  const auto start = std::chrono::steady_clock::now();
  const auto ds = seeded(o.data).load();
  const double load_s = seconds_since(start);
  const auto stats = Standardizer::fit(ds);
  const auto j = describe(ds, stats, load_s);
  if (o.json)
    std::cout << j.dump() << std::endl;
  else
    print(ds, stats, j);
  return 0;
}

int run_grid(const GridOptions& o) {
  init_runtime();
  const auto source = seeded(o.data);
  if (parse_data_spec(source.spec).name == "toy") {
    // Points: a scatter plot of the whole set is the picture people want.
    const auto pts = source.load().all();
    PlotOptions p;
    p.title = fmt::format("{} ({} points)", o.data.spec, pts.size(0));
    p.xlabel = "x";
    p.ylabel = "y";
    p.equal_axes = true;
    plot_xy(o.out, {Series::points("data", pts.select(1, 0), pts.select(1, 1))}, p);
  } else {
    auto args = source;
    if (args.options.limit == 0 || args.options.limit > o.n) args.options.limit = o.n;
    const auto images = args.load().all();
    const int64_t columns =
        o.columns > 0 ? o.columns : static_cast<int64_t>(std::ceil(std::sqrt(double(images.size(0)))));
    write_png(o.out, make_grid(images, columns));
  }
  spdlog::info("wrote {}", o.out);
  return 0;
}

// "NAME=P" pairs into the probabilities of binary attributes.
std::map<std::string, double> parse_probabilities(const std::vector<std::string>& pairs) {
  std::map<std::string, double> p;
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    DDIM_CHECK_ARG(eq != std::string::npos && eq > 0,
                   "--p {}: expected NAME=PROBABILITY, e.g. eyeglasses=0.5", pair);
    const auto value = pair.substr(eq + 1);
    size_t used = 0;
    double prob = -1;
    try {
      prob = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    DDIM_CHECK_ARG(used == value.size() && !value.empty(), "--p {}: '{}' is not a number", pair, value);
    p[pair.substr(0, eq)] = prob;
  }
  return p;
}

int64_t folder_bytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) total += static_cast<int64_t>(e.file_size(ec));
  return total;
}

int run_render_faces(RenderFacesOptions o) {
  init_runtime();
  o.faces.seed = global_options().seed;
  o.faces.p = parse_probabilities(o.p);
  o.faces.validate();
  const auto dir = o.out.empty() ? default_faces_dir() : o.out;
  spdlog::info("rendering with {}/render.mjs", faces_generator_dir());
  const auto start = std::chrono::steady_clock::now();
  Progress bar("render faces", o.faces.count, "faces");
  const auto set = render_face_set(dir, o.faces, [&](int64_t done, int64_t) { bar.update(done); });
  bar.finish();
  const double seconds = seconds_since(start);
  spdlog::info("wrote {} faces of {}x{} to {} in {:.1f} s ({:.1f} MB); use it with --data faces{}",
               set.options.count, set.options.size, set.options.size, dir, seconds, folder_bytes(dir) / 1e6,
               o.out.empty() ? "" : ":" + o.out);
  return 0;
}

// A row per value: the first N examples with the attribute set to it (their own value gives
// themselves), under a row of the originals.
int run_counterfactuals(const CounterfactualOptions& o) {
  init_runtime();
  auto source = seeded(o.data);
  source.options.limit = o.n;
  const auto data = source.load();
  const auto& a = data.attributes[find_attribute(data.attributes, o.attribute, data.spec)];
  const auto values = o.values.empty() ? a.values : o.values;
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < data.size(); ++i) rows.push_back(i);
  std::vector<torch::Tensor> pictures = {data.padding.crop(data.all())};
  std::vector<std::string> labels = {"original"};
  for (const auto& v : values) {
    const auto images = counterfactuals(data, rows, o.attribute, std::vector<std::string>(rows.size(), v));
    pictures.push_back(data.padding.crop(images.to(torch::kFloat32).div(255.0)));
    labels.push_back(fmt::format("{} = {}", o.attribute, v));
  }
  std::vector<std::string> own;
  for (int64_t i = 0; i < data.size(); ++i) own.push_back(a.values[a.labels[i].item<int64_t>()]);
  LabeledRowsOptions lo;
  lo.title = fmt::format("{}: each face (column) with only {} changed", data.spec, o.attribute);
  write_png(o.out, labeled_rows(pictures, labels, {own}, lo));
  spdlog::info("wrote {} ({} examples, {} values of {})", o.out, data.size(), values.size(), o.attribute);
  return 0;
}

}  // namespace

void setup_data(CLI::App& app) {
  auto* data =
      app.add_subcommand("data", "Inspect a data set (statistics, a picture) or render the faces set");
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

  auto faces = std::make_shared<RenderFacesOptions>();
  auto* sub_faces = data->add_subcommand(
      "render-faces",
      "Render the faces data set with facesjs (--data faces[:DIR]): train/ and test/ PNGs named by\n"
      "index (face i is a test face when i % 10 == 9), attributes.csv and faces.json. Face i is\n"
      "a pure function of i, --seed, --p and --uniform. Needs Node.js and the renderer's npm\n"
      "packages (scripts/install-faces.sh).");
  sub_faces->add_option(
      "--out", faces->out,
      "Folder of the set (default: the cache that --data faces reads, " + default_faces_dir() + ")");
  sub_faces->add_option("--size", faces->faces.size, "Image side in pixels (16..512)")
      ->check(CLI::Range(int64_t{16}, int64_t{512}))
      ->capture_default_str();
  sub_faces->add_option("--count", faces->faces.count, "Number of faces (indices 0..count-1)")
      ->check(kPositive)
      ->capture_default_str();
  sub_faces->add_option("--p", faces->p,
                        "NAME=P: draw the binary attribute NAME (male, eyeglasses, beard, smiling) with "
                        "probability P, e.g. --p eyeglasses=0.5 (facesjs draws glasses on 10% of faces)");
  sub_faces->add_option("--uniform", faces->faces.uniform,
                        "Draw these attributes uniformly over all their values (hair_colour, skin_tone) "
                        "instead of from facesjs's palettes");
  sub_faces
      ->add_option("--jobs", faces->faces.jobs,
                   "Renderer threads (0: every CPU; the images do not depend on it)")
      ->check(kNonNegative)
      ->capture_default_str();
  on_run(sub_faces, [faces] { return run_render_faces(*faces); });

  auto cf = std::make_shared<CounterfactualOptions>();
  auto* sub_cf = data->add_subcommand(
      "counterfactuals",
      "A picture of counterfactuals (fonts, faces): the first N examples, then a row per value of\n"
      "an attribute with only that attribute changed; the captions give each example's own value");
  add_data_options(sub_cf, cf->data);
  sub_cf->add_option("--attribute", cf->attribute, "The attribute to change (e.g. eyeglasses, hair_colour)")
      ->required();
  add_list_option(sub_cf, "--values", cf->values,
                  "The values to set (default: every value of the attribute)");
  sub_cf->add_option("--n", cf->n, "Number of examples")->check(kPositive)->capture_default_str();
  sub_cf->add_option("--out", cf->out, "Output PNG file")->capture_default_str();
  on_run(sub_cf, [cf] { return run_counterfactuals(*cf); });
}

}  // namespace ddim::cli
