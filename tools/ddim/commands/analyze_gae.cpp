// `ddim analyze` on partitioned codes (DiffuseGAE; kept apart from analyze.cpp, whose
// analyses are of the seed space):
//   disentanglement  linear probes for every (part, attribute) pair (its Table 1)
//   swap             the attribute-swap success rate under attribute classifiers on real images
//   reassembly       decoding from the code reassembled from a group's parts (its Table 2)
#include <algorithm>

#include "commands.h"
#include "common/common.h"
#include "common/embed_args.h"
#include "common/gae_args.h"
#include "common/progress.h"
#include "ddim/analysis/disentanglement.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/io/image.h"
#include "ddim/methods/attribute_swap.h"
#include "ddim/metrics/metrics.h"
#include "ddim/pictures/annotate.h"

namespace ddim::cli {
namespace {

// ------------------------------------------------------------------ disentanglement
struct DisentanglementArgs {
  std::string model, partition, out = "disentanglement";
  DataSource data;
  int64_t train_examples = 5000, test_examples = 2000;
  ProbeOptions probe;
  SamplerArgs sampler;
};

int run_disentanglement(const DisentanglementArgs& a) {
  const auto device = init_runtime();
  const auto loaded = load_partitioned(a.model, a.partition, a.data, a.sampler, device);
  const auto& m = loaded.model;
  const auto& info = m.denoiser().data();
  const auto train = load_attribute_data(loaded.data, info, Split::Train, a.train_examples);
  const auto test = load_attribute_data(loaded.data, info, Split::Test, a.test_examples);
  torch::Tensor codes_train, codes_test;
  {
    Progress progress("encode", train.size() + test.size(), "img");
    codes_train = m.encode(train.all(), a.sampler.batch);
    progress.update(train.size());
    codes_test = m.encode(test.all(), a.sampler.batch);
    progress.finish();
  }
  spdlog::info("fitting {} linear probes on {} codes of {} ({} test codes)",
               m.partition().size() * m.partition().attributes().size(), train.size(), m.describe(),
               test.size());
  const auto d =
      disentanglement(codes_train, train.attributes, codes_test, test.attributes, m.partition(), {}, a.probe);
  open_run_dir(a.out);
  auto j = d.to_json();
  j["model"] = a.model;
  j["code"] = m.describe();
  j["data"] = train.spec;
  write_json(a.out + "/disentanglement.json", j);
  write_file_atomic(
      a.out + "/disentanglement.md",
      fmt::format("# Disentanglement of {} ({})\n\nLinear probes on {} training codes, measured on {} "
                  "test codes; rows are attributes, columns parts of the code.\n\n{}",
                  m.describe(), a.model, d.train, d.test, d.to_markdown()));
  spdlog::info(
      "own part: mean accuracy {:.3f}; other attribute parts: {:.3f}; wrote {}/disentanglement.json and .md",
      d.diagonal(), d.off_diagonal(), a.out);
  return 0;
}

void setup_disentanglement(CLI::App* analyze) {
  auto a = std::make_shared<DisentanglementArgs>();
  auto* sub = analyze->add_subcommand(
      "disentanglement",
      "Linear probes of every attribute on every part of a partitioned code (DiffuseGAE Table 1)");
  sub->footer(
      "\nA DiffuseGAE's z_dis with its partition, or a plain Diff-AE's z_sem split into equal chunks\n"
      "(one per attribute; --partition to choose), the paper's baseline. Writes disentanglement.json\n"
      "and disentanglement.md (accuracy and perplexity matrices).");
  sub->add_option("--model", a->model, "DiffuseGAE (ddim train-gae) or diffusion autoencoder")->required();
  add_partition_option(sub, a->partition);
  sub->add_option("--train-examples", a->train_examples, "Training codes the probes are fitted on")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--test-examples", a->test_examples, "Test codes the probes are measured on")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--probe-iters", a->probe.iterations, "Full-batch Adam iterations per probe")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--out", a->out, "Output directory")->capture_default_str();
  add_data_options(sub, a->data);
  a->data.spec = "";
  sub->get_option("--data")->description("Data set with attributes (default: the model's)")->default_str("");
  sub->add_option("--batch", a->sampler.batch, "Images per batch")->check(kPositive)->capture_default_str();
  add_enum_option(sub, "--weights", a->sampler.weights, "ema or raw weights");
  on_run(sub, [a] { return run_disentanglement(*a); });
}

// The options of the analyses that decode partitioned codes (swap, reassembly): the partition
// of a plain Diff-AE, the output directory, the test data (the model's by default), the
// inversion of x_T and the sampler.
void add_decoding_options(CLI::App* sub, std::string& partition, std::string& out, DataSource& data,
                          EmbedArgs& embed, SamplerArgs& sampler) {
  add_partition_option(sub, partition);
  sub->add_option("--out", out, "Output directory")->capture_default_str();
  add_data_options(sub, data, Split::Test);
  data.spec = "";
  sub->get_option("--data")->description("Data set with attributes (default: the model's)")->default_str("");
  add_embed_options(sub, embed, false);
  add_sampler_options(sub, sampler, false);
}

// ------------------------------------------------------------------ swap success
struct SwapSuccessArgs {
  std::string model, partition, out = "swap-success";
  std::vector<std::string> classifiers;  // NAME=PATH
  int64_t pairs = 200, examples = 2000;
  bool random_xt = false;
  DataSource data;
  SamplerArgs sampler;
  EmbedArgs embed;
};

std::vector<AttributeClassifier> load_classifiers(const std::vector<std::string>& specs, const Dataset& data,
                                                  const torch::Device& device) {
  std::vector<AttributeClassifier> out;
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    DDIM_CHECK_ARG(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(),
                   "classifier '{}': expected ATTRIBUTE=CHECKPOINT", spec);
    const auto name = spec.substr(0, eq), path = spec.substr(eq + 1);
    const auto& attribute = data.attributes[find_attribute(data.attributes, name, data.spec)];
    auto c = load_classifier(path);
    DDIM_CHECK_ARG(
        c.network->options().classes == static_cast<int64_t>(attribute.values.size()),
        "{} tells {} classes apart, but attribute '{}' has {} values (train it with --class-attribute {})",
        path, c.network->options().classes, name, attribute.values.size(), name);
    c.network->to(device);
    out.push_back({name, c.network});
  }
  return out;
}

int run_swap_success(const SwapSuccessArgs& a) {
  const auto device = init_runtime();
  const auto loaded = load_partitioned(a.model, a.partition, a.data, a.sampler, device);
  const auto& m = loaded.model;
  const auto data = load_attribute_data(loaded.data, m.denoiser().data(), a.data.options.split,
                                        std::max(a.examples, a.pairs));
  const auto classifiers = load_classifiers(a.classifiers, data, device);
  SwapOptions o;
  o.embedding = a.embed.resolved(a.sampler);
  o.random_xt = a.random_xt;
  // Decodings: the unswapped sources, then the sources once per judged attribute part.
  const auto parts = m.partition().attributes();
  int64_t judged = 0;
  for (const auto& c : classifiers) judged += std::count(parts.begin(), parts.end(), c.attribute);
  const int64_t n = std::min(a.pairs, data.size());
  Progress progress("swap", n * (1 + judged), "img");
  const auto s = swap_success(m, data, classifiers, a.pairs, o, [&](int64_t done) { progress.update(done); });
  progress.finish();
  open_run_dir(a.out);
  auto j = s.to_json();
  j["model"] = a.model;
  j["code"] = m.describe();
  j["steps"] = o.embedding.steps;
  j["x_T"] = a.random_xt ? "random" : "inferred";
  j["classifier_files"] = a.classifiers;
  write_json(a.out + "/swap.json", j);
  write_file_atomic(
      a.out + "/swap.md",
      fmt::format("# Attribute swaps of {} ({}, x_T {}, S = {}, {} pairs)\n\n{}", m.describe(), a.model,
                  a.random_xt ? "random" : "inferred", o.embedding.steps, s.pairs, s.to_markdown()));
  spdlog::info("wrote {}/swap.json and swap.md", a.out);
  return 0;
}

void setup_swap_success(CLI::App* analyze) {
  auto a = std::make_shared<SwapSuccessArgs>();
  auto* sub = analyze->add_subcommand(
      "swap", "Attribute-swap success rate: classifiers on real images judge swapped decodings (DiffuseGAE)");
  sub->footer(
      "\nFor each attribute part with a classifier: the donor's value must be seen after the swap, and\n"
      "the source's value of every other judged attribute must survive. Classifiers come from\n"
      "ddim train-classifier --class-attribute NAME. Example:\n"
      "  ddim analyze swap --model runs/gae/model.pt --classifier font=runs/cls-font/model.pt \\\n"
      "      --classifier letter=runs/cls-letter/model.pt --pairs 200 --steps 20");
  sub->add_option("--model", a->model, "DiffuseGAE, or a plain Diff-AE with --partition")->required();
  sub->add_option("--classifier", a->classifiers, "ATTRIBUTE=CHECKPOINT, once per judged attribute")
      ->required();
  sub->add_option("--pairs", a->pairs, "(source, donor) pairs")->check(kPositive)->capture_default_str();
  sub->add_option("--examples", a->examples, "Test examples the donors are drawn from")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--random-xt", a->random_xt, "Decode from random x_T instead of the sources' own");
  add_decoding_options(sub, a->partition, a->out, a->data, a->embed, a->sampler);
  on_run(sub, [a] { return run_swap_success(*a); });
}

// ------------------------------------------------------------------ group reassembly (Table 2)
struct ReassemblyArgs {
  std::string model, partition, classifier, out = "reassembly";
  int64_t groups = 200, examples = 2000, picture = 8;
  bool random_xt = false;
  DataSource data;
  SamplerArgs sampler;
  EmbedArgs embed;
};

int run_reassembly(const ReassemblyArgs& a) {
  const auto device = init_runtime();
  const auto loaded = load_partitioned(a.model, a.partition, a.data, a.sampler, device);
  const auto& m = loaded.model;
  const auto data = load_attribute_data(loaded.data, m.denoiser().data(), a.data.options.split,
                                        std::max(a.examples, a.groups));
  std::optional<LoadedClassifier> classifier;
  if (!a.classifier.empty()) classifier = load_classifier(a.classifier);
  SwapOptions o;
  o.embedding = a.embed.resolved(a.sampler);
  o.random_xt = a.random_xt;
  const int64_t n = std::min(a.groups, data.size());
  Progress progress("reassemble", 2 * n, "img");
  const auto r = reassemble_groups(m, data, n, o, [&](int64_t done) { progress.update(done); });
  progress.finish();
  auto row = [&](const torch::Tensor& decoded) {
    const auto rep = ReconstructionReport::compute(r.originals, decoded);
    nlohmann::ordered_json j = {{"mse", rep.mse.mean().item<double>()},
                                {"psnr", rep.psnr.mean().item<double>()},
                                {"ssim", rep.ssim.mean().item<double>()}};
    if (classifier)
      j["feature_distance"] =
          feature_distance(*classifier->network, r.originals, decoded).mean().item<double>();
    return j;
  };
  open_run_dir(a.out);
  nlohmann::ordered_json j;
  j["model"] = a.model;
  j["code"] = m.describe();
  j["data"] = data.spec;
  j["groups"] = n;
  j["steps"] = o.embedding.steps;
  j["x_T"] = a.random_xt ? "random" : "inferred";
  if (classifier) j["classifier"] = a.classifier;
  j["reassembled"] = row(r.reassembled);
  j["reconstruction"] = row(r.reconstructions);
  write_json(a.out + "/reassembly.json", j);
  auto cell = [](const nlohmann::ordered_json& v, const char* key, const char* format) {
    return v.contains(key) ? fmt::format(fmt::runtime(format), v[key].get<double>()) : std::string("-");
  };
  std::string md = fmt::format(
      "# Group reassembly of {} ({}, x_T {}, S = {}, {} groups)\n\nEach test image decoded from the code "
      "reassembled from its group's parts (each attribute's part from another image sharing that value; "
      "DiffuseGAE Table 2), and from its own code.\n\n| decoded from | MSE | PSNR | SSIM | feature distance "
      "|\n"
      "|---|---|---|---|---|\n",
      m.describe(), a.model, a.random_xt ? "random" : "inferred", o.embedding.steps, n);
  for (const auto& [label, key] :
       {std::pair{"the group's parts", "reassembled"}, {"its own code", "reconstruction"}})
    md += fmt::format("| {} | {} | {} | {} | {} |\n", label, cell(j[key], "mse", "{:.5f}"),
                      cell(j[key], "psnr", "{:.2f}"), cell(j[key], "ssim", "{:.4f}"),
                      cell(j[key], "feature_distance", "{:.4f}"));
  write_file_atomic(a.out + "/reassembly.md", md);
  const int64_t k = std::min(a.picture, n);
  if (k > 0) {
    LabeledRowsOptions lo;
    lo.title = fmt::format("{}: decoded from its own code and from its group's parts", m.describe());
    write_png(a.out + "/reassembly.png",
              labeled_rows({r.originals.slice(0, 0, k), r.reconstructions.slice(0, 0, k),
                            r.reassembled.slice(0, 0, k)},
                           {"original", "own code", "group's parts"}, {}, lo));
  }
  spdlog::info(
      "decoded from the group's parts: MSE {:.5f}, SSIM {:.4f} (own code: MSE {:.5f}); wrote "
      "{}/reassembly.json",
      j["reassembled"]["mse"].get<double>(), j["reassembled"]["ssim"].get<double>(),
      j["reconstruction"]["mse"].get<double>(), a.out);
  return 0;
}

void setup_reassembly(CLI::App* analyze) {
  auto a = std::make_shared<ReassemblyArgs>();
  auto* sub = analyze->add_subcommand(
      "reassembly",
      "Decode test images from codes reassembled from their groups' parts (DiffuseGAE Table 2)");
  sub->footer(
      "\nThe paper's reconstruction protocol: each test image x_C is decoded from the code whose part of\n"
      "each attribute comes from another image sharing that attribute's value with x_C (a rest part\n"
      "from x_C itself), beside its decoding from its own code. Writes reassembly.json, reassembly.md\n"
      "(MSE, PSNR, SSIM, and with --classifier the classifier-feature distance) and reassembly.png.\n"
      "  ddim analyze reassembly --model runs/gae/model.pt --groups 200 --steps 20 \\\n"
      "      --classifier runs/cls-letter/model.pt");
  sub->add_option("--model", a->model, "DiffuseGAE, or a plain Diff-AE with --partition")->required();
  sub->add_option("--groups", a->groups, "Test images reassembled (the first ones)")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--examples", a->examples, "Test examples the members are drawn from")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--classifier", a->classifier,
                  "A classifier (ddim train-classifier) whose features give the LPIPS-like distance");
  sub->add_option("--picture", a->picture, "Images in reassembly.png (0: none)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_flag("--random-xt", a->random_xt, "Decode from random x_T instead of the images' own");
  add_decoding_options(sub, a->partition, a->out, a->data, a->embed, a->sampler);
  on_run(sub, [a] { return run_reassembly(*a); });
}

}  // namespace

void setup_analyze_gae(CLI::App* analyze) {
  setup_disentanglement(analyze);
  setup_swap_success(analyze);
  setup_reassembly(analyze);
}

}  // namespace ddim::cli
