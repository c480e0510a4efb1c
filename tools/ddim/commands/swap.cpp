// `ddim swap`: DiffuseGAE's attribute swap, images decoded with one attribute's part of z_dis
// taken from other images (Leng et al. 2023, Fig. 6).
#include "commands.h"
#include "common/common.h"
#include "common/embed_args.h"
#include "common/gae_args.h"
#include "common/inputs.h"
#include "common/sampling_args.h"
#include "ddim/core/error.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/attribute_swap.h"
#include "ddim/pictures/annotate.h"

namespace ddim::cli {
namespace {

struct SwapArgs {
  std::string model, partition, out = "swap";
  std::vector<std::string> from, to, attributes;
  bool random_xt = false;
  DataSource data;
  SamplerArgs sampler;
  EmbedArgs embed;
};

// Images named by index into the data's split, or by file.
torch::Tensor load_images(const std::vector<std::string>& items, const DataSource& data,
                          const DataInfo& info) {
  std::vector<torch::Tensor> out;
  for (const auto& item : items) {
    const bool index =
        !item.empty() && item.size() < 10 && item.find_first_not_of("0123456789") == std::string::npos;
    if (!index) {
      out.push_back(conform_images({read_image(item)}, info));
      continue;
    }
    InputArgs in;
    in.data = data;
    in.data.options.limit = std::stoll(item) + 1;
    auto images = load_inputs(in, info).images;
    DDIM_CHECK_ARG(images.size(0) > std::stoll(item), "index {} is beyond the {} examples of the {} split",
                   item, images.size(0), to_string(data.options.split));
    out.push_back(images.slice(0, -1));
  }
  return torch::cat(out);
}

// The paper's layout (Fig. 6): a row per source, a column per donor; the first column the
// source, the second its decoding with its own code.
torch::Tensor swap_grid(const AttributeSwap& r, size_t k, const SwapArgs& a, const std::string& title) {
  const auto blank = torch::ones_like(r.donors.slice(0, 0, 1));
  std::vector<torch::Tensor> rows = {torch::cat({blank, blank, r.donors})};
  std::vector<std::string> labels = {"donors"};
  std::vector<std::vector<std::string>> captions = {{"source", "own code"}};
  for (const auto& t : a.to) captions[0].push_back(t);
  for (int64_t s = 0; s < r.sources.size(0); ++s) {
    rows.push_back(
        torch::cat({r.sources.slice(0, s, s + 1), r.reconstructions.slice(0, s, s + 1), r.swapped[k][s]}));
    labels.push_back(a.from[static_cast<size_t>(s)]);
  }
  LabeledRowsOptions lo;
  lo.title = title;
  return labeled_rows(rows, labels, captions, lo);
}

int run_swap(const SwapArgs& a) {
  const auto device = init_runtime();
  const auto loaded = load_partitioned(a.model, a.partition, a.data, a.sampler, device);
  const auto& m = loaded.model;
  const auto& info = m.denoiser().data();
  SwapOptions o;
  o.embedding = a.embed.resolved(a.sampler);
  o.random_xt = a.random_xt;
  const auto sources = load_images(a.from, model_data(loaded.data, info), info);
  const auto donors = load_images(a.to, model_data(loaded.data, info), info);
  spdlog::info("swapping {} of {} sources with {} donors through {}", fmt::join(a.attributes, ", "),
               a.from.size(), a.to.size(), m.describe());
  const auto r = swap_attributes(m, sources, donors, a.attributes, o);
  open_run_dir(a.out);
  nlohmann::ordered_json j = {{"model", a.model},
                              {"partition", m.partition().to_string()},
                              {"from", a.from},
                              {"to", a.to},
                              {"steps", o.embedding.steps},
                              {"x_T", a.random_xt ? "random" : "inferred"}};
  for (size_t k = 0; k < a.attributes.size(); ++k) {
    const auto& name = a.attributes[k];
    const auto title = fmt::format("{}: each source with the donor's {} part (x_T {}, S = {})", m.describe(),
                                   name, a.random_xt ? "random" : "inferred", o.embedding.steps);
    write_png(a.out + "/swap-" + name + ".png", swap_grid(r, k, a, title));
    save_tensor(a.out + "/swap-" + name + ".pt", r.swapped[k]);
    j["pictures"].push_back("swap-" + name + ".png");
  }
  write_json(a.out + "/swap.json", j);
  spdlog::info("wrote {}/swap-{{{}}}.png", a.out, fmt::join(a.attributes, ","));
  return 0;
}

}  // namespace

void setup_swap(CLI::App& app) {
  auto a = std::make_shared<SwapArgs>();
  auto* sub = app.add_subcommand(
      "swap", "DiffuseGAE: decode images with attributes taken from other images (Fig. 6)");
  sub->footer(
      "\nA grid per attribute: a row per source (--from), a column per donor (--to); each cell the\n"
      "source decoded with the donor's part of the code for that attribute, from the source's x_T\n"
      "(or a random one). Sources and donors are image files or indices into --data's split.\n"
      "Example: ddim swap --model runs/gae/model.pt --from 0,1,2,3 --to 4,5,6,7 --attributes "
      "font,font_colour");
  sub->add_option("--model", a->model, "DiffuseGAE (ddim train-gae), or a plain Diff-AE with --partition")
      ->required();
  add_list_option(sub, "--from", a->from, "Source images (files or indices)")->required();
  add_list_option(sub, "--to", a->to, "Donor images (files or indices)")->required();
  add_list_option(sub, "--attributes", a->attributes, "Attributes to swap, one grid each")->required();
  sub->add_flag("--random-xt", a->random_xt, "Decode from random x_T instead of the sources' own");
  add_partition_option(sub, a->partition);
  sub->add_option("--out", a->out, "Output directory")->capture_default_str();
  // Only the data set and split of index images: --attributes names what to swap here (the
  // rest of the data options come from the model's training data).
  a->data.spec = "";
  a->data.options.split = Split::Test;
  sub->add_option("--data", a->data.spec, "Data set for index images (default: the model's)");
  add_enum_option(sub, "--split", a->data.options.split, "Split of index images");
  add_embed_options(sub, a->embed, false);
  add_sampler_options(sub, a->sampler, false);
  on_run(sub, [a] { return run_swap(*a); });
}

}  // namespace ddim::cli
