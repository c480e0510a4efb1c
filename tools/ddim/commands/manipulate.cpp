// `ddim manipulate`: move a diffusion autoencoder's z_sem along a linear classifier's
// direction and decode (Diff-AE Fig. 5).
#include <numeric>

#include "commands.h"
#include "common/common.h"
#include "common/embed_args.h"
#include "common/inputs.h"
#include "common/sampling_args.h"
#include "ddim/analysis/evaluation.h"
#include "ddim/core/error.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/embedding.h"
#include "ddim/methods/manipulation.h"
#include "ddim/pictures/annotate.h"

namespace ddim::cli {
namespace {

struct ManipulateArgs {
  std::string model, out = "manipulation";
  std::string attribute;
  std::vector<double> scales = {-2, -1, 0, 1, 2};
  InputArgs inputs;
  int64_t train_examples = 10000;
  SamplerArgs sampler;
  EmbedArgs embed;
};

// "class:K" or "class:NAME" -> K.
int64_t parse_attribute(const std::string& attribute, const Dataset& data) {
  DDIM_CHECK_ARG(attribute.rfind("class:", 0) == 0 && attribute.size() > 6,
                 "--attribute {}: expected class:K or class:NAME (the attribute 'is of class K')", attribute);
  const auto what = attribute.substr(6);
  for (size_t k = 0; k < data.classes.size(); ++k)
    if (data.classes[k] == what) return static_cast<int64_t>(k);
  const int64_t classes =
      std::max<int64_t>(static_cast<int64_t>(data.classes.size()), data.labels.max().item<int64_t>() + 1);
  DDIM_CHECK_ARG(what.size() < 10 && what.find_first_not_of("0123456789") == std::string::npos &&
                     std::stoll(what) < classes,
                 "--attribute {}: the data has no class {} (classes 0..{}{}{})", attribute, what, classes - 1,
                 data.classes.empty() ? "" : ": ", fmt::join(data.classes, ", "));
  return std::stoll(what);
}

// The linear classifier "is of class K" on the codes of labelled training images, measured on
// the test split (Diff-AE section 5.3). The images are the inputs' data set (by default the
// model's) with the inputs' class attribute, all of it: --where and --limit pick the images to
// manipulate, not the classifier's examples.
AttributeDirection fit_direction(const Denoiser& d, const ManipulateArgs& a, DataInfo* classes,
                                 int64_t* target) {
  auto source = model_data(a.inputs.data, d.data());  // at the model's size, as the inputs are
  source.options.split = Split::Train;
  source.options.where.clear();
  source.options.pad_to = d.data().shape[1];
  source.options.limit = a.train_examples;
  const auto train = source.load();
  DDIM_CHECK_ARG(train.labels.defined(), "{}: --attribute class:K needs labelled data", train.spec);
  *classes = DataInfo::of(train);
  *target = parse_attribute(a.attribute, train);
  auto test_source = source.with_split(Split::Test);
  test_source.options.limit = 0;
  const auto test = test_source.load();
  return fit_attribute_direction(semantic_codes(d, train, a.sampler.batch), train.labels == *target,
                                 semantic_codes(d, test, a.sampler.batch), test.labels == *target);
}

int run_manipulate(const ManipulateArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  require_autoencoder(d, a.model);
  DataInfo classes;
  int64_t target = 0;
  const auto direction = fit_direction(d, a, &classes, &target);
  const auto in = load_inputs(a.inputs, d.data());
  const auto options = a.embed.resolved(a.sampler);
  const auto m = manipulate_attribute(d, embed_images(d, in.images, options), direction, a.scales,
                                      options.grid(d.schedule()), a.sampler.batch);
  // Where the inputs can be rendered with the attribute changed (faces, fonts), the true
  // manipulation: each input with the attribute set to the target and nothing else changed.
  // Inputs that already have it are left out of the distances.
  const int64_t n = in.images.size(0);
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  const auto name = classes.class_name(target);
  const auto truth = in.labels.defined() ? true_images(in, rows, in.data->label_attribute,
                                                       std::vector<std::string>(rows.size(), name), d.data())
                                         : torch::Tensor();
  const auto changed = truth.defined() ? (in.labels != target) : torch::Tensor();
  const bool scored = changed.defined() && changed.any().item<bool>();
  open_run_dir(a.out);
  std::vector<torch::Tensor> rows_shown;
  std::vector<std::string> labels;
  std::vector<std::vector<std::string>> captions;
  for (int64_t i = 0; i < std::min<int64_t>(n, 8); ++i) {
    std::vector<torch::Tensor> r = {d.data().crop(in.images.slice(0, i, i + 1))};
    captions.push_back({"input"});
    for (size_t c = 0; c < a.scales.size(); ++c) {
      r.push_back(m.images[c].slice(0, i, i + 1));
      captions.back().push_back(fmt::format("{:+g}", a.scales[c]));
    }
    if (truth.defined()) {
      r.push_back(truth.slice(0, i, i + 1));
      captions.back().push_back("truth");
    }
    rows_shown.push_back(torch::cat(r));
    labels.push_back(in.names[i]);
  }
  LabeledRowsOptions lo;
  lo.title =
      fmt::format("z_sem moved towards '{}' (linear classifier AUROC {:.3f}); own x_T (Diff-AE Fig. 5)", name,
                  direction.auroc);
  write_png(a.out + "/manipulation.png", labeled_rows(rows_shown, labels, captions, lo));
  nlohmann::ordered_json j = {{"model", a.model},
                              {"attribute", a.attribute},
                              {"attribute_name", name},
                              {"classifier", direction.to_json()}};
  if (scored) {
    j["class_attribute"] = in.data->label_attribute;
    j["truth_images"] = changed.sum().item<int64_t>();
  }
  for (size_t c = 0; c < a.scales.size(); ++c) {
    nlohmann::ordered_json s = {{"scale", a.scales[c]}, {"probability", m.probability[c]}};
    if (scored) {
      EditScores scores;
      score_against_truth(scores, m.images[c].index({changed}), truth.index({changed}));
      s["truth_mse"] = scores.truth_mse.mean().item<double>();
      s["truth_ssim"] = scores.truth_ssim.mean().item<double>();
    }
    j["scales"].push_back(s);
  }
  save_tensor(a.out + "/manipulation.pt", torch::stack(m.images));
  if (truth.defined()) save_tensor(a.out + "/truth.pt", truth);
  write_json(a.out + "/manipulate.json", j);
  spdlog::info(
      "linear classifier for '{}' on z_sem: AUROC {:.3f}, accuracy {:.1f}%; wrote {}/manipulation.png", name,
      direction.auroc, 100 * direction.accuracy, a.out);
  if (scored) {
    std::string line;
    for (const auto& s : j["scales"])
      line += fmt::format("{}{:+g}: {:.5f}", line.empty() ? "" : ", ", s["scale"].get<double>(),
                          s["truth_mse"].get<double>());
    spdlog::info("MSE to the true manipulation ({} inputs without '{}'), by scale: {}",
                 j["truth_images"].get<int64_t>(), name, line);
  }
  return 0;
}

}  // namespace

void setup_manipulate(CLI::App& app) {
  auto m = std::make_shared<ManipulateArgs>();
  auto* man =
      app.add_subcommand("manipulate", "Diff-AE: move z_sem along a linear classifier's direction (Fig. 5)");
  man->footer(
      "\nThe attribute is a class of the inputs' data set (--class-attribute picks which attribute); the\n"
      "linear classifier is fitted on the training split (--train-examples, all of it regardless of "
      "--where).\n"
      "Writes manipulation.png, manipulation.pt ([scales, N, C, H, W]) and manipulate.json. Faces and fonts\n"
      "also render the true manipulation of each input (truth.pt, the picture's last column):\n"
      "manipulate.json then has the MSE and SSIM to it by scale, over the inputs without the attribute.\n"
      "\nExamples:\n"
      "  ddim manipulate --model runs/ae/model.pt --limit 8 --attribute class:Sneaker --scales -2,-1,0,1,2\n"
      "  ddim manipulate --model models/faces-diffae.pt --class-attribute eyeglasses --attribute class:yes "
      "\\\n"
      "    --where eyeglasses=no --limit 32 --scales 0,1,2,3");
  man->add_option("--model", m->model, "Diffusion autoencoder")->required();
  man->add_option("--attribute", m->attribute, "class:K or class:NAME: the attribute 'is of class K'")
      ->required();
  add_list_option(man, "--scales", m->scales, "Steps along the unit direction (standardised code units)");
  man->add_option("--train-examples", m->train_examples, "Labelled training images for the linear classifier")
      ->check(kPositive)
      ->capture_default_str();
  man->add_option("--out", m->out, "Output directory")->capture_default_str();
  add_input_options(man, m->inputs, 8);
  add_embed_options(man, m->embed, false);
  add_sampler_options(man, m->sampler, false);
  on_run(man, [m] { return run_manipulate(*m); });
}

}  // namespace ddim::cli
