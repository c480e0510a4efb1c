// The diffusion autoencoder's commands (Preechakul et al. 2022):
//   encode        images -> (z_sem, x_T)
//   decode        (z_sem, x_T or random) -> images
//   train-latent  a latent DDIM over z_sem (deep MLP with skips, L1), the encoder frozen
//   manipulate    move z_sem along a linear classifier's direction and decode (Fig. 5)
#include <filesystem>

#include "commands.h"
#include "common.h"
#include "ddim/annotate.h"
#include "ddim/denoiser_trainer.h"
#include "ddim/error.h"
#include "ddim/image.h"
#include "ddim/metrics.h"
#include "ddim/mlp.h"
#include "ddim/pipeline.h"
#include "ddim/rng.h"
#include "ddim/tensor_io.h"
#include "embed_args.h"
#include "inputs.h"
#include "progress.h"
#include "sampling_args.h"
#include "training_run.h"

namespace ddim::cli {
namespace {

void require_autoencoder(const Denoiser& d, const std::string& path) {
  DDIM_CHECK_ARG(d.network().cond_dim() > 0,
                 "{} is not a diffusion autoencoder (train one with ddim train --arch diffae)", path);
}

// ------------------------------------------------------------------ encode
struct EncodeArgs {
  std::string model, out = "encoding";
  InputArgs inputs;
  SamplerArgs sampler;
  EmbedArgs embed;
};

int run_encode(const EncodeArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  require_autoencoder(d, a.model);
  const auto in = load_inputs(a.inputs, d.data());
  open_run_dir(a.out);
  Progress progress("encode", in.images.size(0), "img");
  const auto e =
      embed_images(d, a.model, in.images, a.embed, a.sampler, [&](int64_t n) { progress.update(n); });
  progress.finish();
  save_tensor(a.out + "/zsem.pt", e.codes);
  save_tensor(a.out + "/xT.pt", e.seeds);
  const int64_t k = std::min<int64_t>(16, in.images.size(0));
  LabeledRowsOptions lo;
  lo.title = fmt::format("semantic codes ({} dims) and stochastic codes x_T ({}, S = {})", e.codes.size(1),
                         a.embed.describe(), a.sampler.steps);
  write_png(a.out + "/encoding.png",
            labeled_rows({crop_padding(in.images.slice(0, 0, k), d.data()),
                          seed_to_image(crop_padding(e.seeds.slice(0, 0, k), d.data()))},
                         {"image", "x_T"}, {}, lo));
  nlohmann::ordered_json j;
  j["model"] = a.model;
  j["images"] = in.images.size(0);
  j["z_dim"] = e.codes.size(1);
  j["steps"] = a.sampler.steps;
  j["method"] = a.embed.method;
  write_json(a.out + "/encode.json", j.dump(2));
  spdlog::info("wrote {}/zsem.pt ({}x{}) and xT.pt", a.out, e.codes.size(0), e.codes.size(1));
  return 0;
}

// ------------------------------------------------------------------ decode
struct DecodeArgs {
  std::string model, zsem, xt, out = "decoding";
  SamplerArgs sampler;
};

int run_decode(const DecodeArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  require_autoencoder(d, a.model);
  auto codes = load_tensor(a.zsem, TensorRules::finite_floats());
  DDIM_CHECK_ARG(codes.dim() == 2 && codes.size(1) == d.network().cond_dim(),
                 "{}: semantic codes of shape {} do not fit this model (it needs [N, {}])", a.zsem,
                 fmt::join(codes.sizes(), "x"), d.network().cond_dim());
  torch::Tensor xt;
  if (!a.xt.empty()) {
    xt = load_seeds(a.xt, d.data());
    DDIM_CHECK_ARG(xt.size(0) == codes.size(0), "{} holds {} x_T for {} codes", a.xt, xt.size(0),
                   codes.size(0));
  } else {
    auto gen = make_generator(global_options().seed);
    std::vector<int64_t> shape = {codes.size(0)};
    shape.insert(shape.end(), d.data().shape.begin(), d.data().shape.end());
    xt = randn(shape, gen);
  }
  open_run_dir(a.out);
  SampleOptions plain;
  auto images = crop_padding(generate(d, xt, a.sampler.grid(d), plain, a.sampler.batch, {}, codes), d.data());
  save_tensor(a.out + "/images.pt", images);
  write_png(a.out + "/images.png",
            make_grid(images, static_cast<int64_t>(std::ceil(std::sqrt(double(images.size(0)))))));
  spdlog::info("decoded {} images into {}/images.png and images.pt (x_T {})", images.size(0), a.out,
               a.xt.empty() ? "random" : "given");
  return 0;
}

// ------------------------------------------------------------------ train-latent
struct TrainLatentArgs {
  std::string model, out;
  DataArgs data;
  MLPOptions mlp;
  DenoiserTrainOptions train;
  int64_t steps = 5000;
  int64_t batch_encode = 256;
};

int run_train_latent(TrainLatentArgs a) {
  const auto device = init_runtime();
  DDIM_CHECK_ARG(!a.out.empty(), "--out RUN is required");
  std::error_code ec;
  DDIM_CHECK_ARG(!std::filesystem::exists(a.out + "/model.pt", ec), "{} already holds a training run", a.out);
  const auto ck = load_checkpoint(a.model, "denoiser");
  auto d = denoiser_from_checkpoint(ck, a.model);
  d.to(device);
  require_autoencoder(d, a.model);
  auto args = a.data;
  if (args.spec.empty()) args.spec = d.data().spec;
  if (args.pad_to == -1) args.pad_to = d.data().shape[1];
  const auto data = args.load();
  // Encode the training images once, with the frozen (EMA) encoder.
  Progress progress("encode", data.size(), "img");
  std::vector<torch::Tensor> codes;
  {
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < data.size(); i += a.batch_encode) {
      const int64_t end = std::min(data.size(), i + a.batch_encode);
      codes.push_back(d.network().condition(d.standardize(data.slice(i, end).to(device))).to(torch::kCPU));
      progress.update(end);
    }
  }
  progress.finish();
  Dataset z;
  z.spec = "zsem:" + a.model;
  z.storage = torch::cat(codes);
  // The latent DDIM is a denoiser of vectors: the same trainer, schedule and sampler. Its
  // statistics standardise the codes (Diff-AE section 3.4); the loss is L1 (MAE).
  a.mlp.dim = z.storage.size(1);
  a.mlp.validate();
  a.train.seed = global_options().seed;
  a.train.loss = Loss::MAE;
  a.train.preview_samples = 0;
  nlohmann::json meta;
  meta["latent_of"] = {{"path", a.model}, {"fingerprint", denoiser_fingerprint(ck)}};
  meta["data_options"] = args.to_json();
  meta["run"] = {{"steps", a.steps}};
  DenoiserTrainer trainer(a.mlp.to_json(), ScheduleOptions::from_json(ck.meta.at("schedule")), z, nullptr,
                          a.train, device, meta);
  open_run_dir(a.out);
  spdlog::info("latent DDIM: MLP of {} layers x {}, {} parameters, on {} codes of {} dims", a.mlp.layers,
               a.mlp.width, count_parameters(trainer.model()), z.size(), z.storage.size(1));
  RunOptions ro;
  ro.dir = a.out;
  ro.steps = a.steps;
  ro.checkpoint_every = std::max<int64_t>(1, a.steps / 5);
  ro.log_every = std::max<int64_t>(1, a.steps / 50);
  const auto r = drive_training(trainer, trainer.model(), ro, 0, "train-latent", Parallel{});
  if (r.end == RunEnd::Stopped) return report_stopped(r, "train-latent", a.out);
  save_tensor(a.out + "/zsem.pt", z.storage);
  spdlog::info("latent DDIM {}/model.pt; sample with: ddim sample --model {} --latent {}/model.pt", a.out,
               a.model, a.out);
  return 0;
}

// ------------------------------------------------------------------ manipulate
struct ManipulateArgs {
  std::string model, attribute, scales = "-2,-1,0,1,2", out = "manipulation";
  InputArgs inputs;
  DataArgs train_data;
  int64_t train_examples = 10000;
  SamplerArgs sampler;
  EmbedArgs embed;
};

// AUROC by the rank statistic (Mann-Whitney U).
double auroc(const torch::Tensor& scores, const torch::Tensor& positive) {
  auto order = std::get<1>(scores.to(torch::kFloat64).sort());
  auto ranks = torch::empty_like(scores, torch::kFloat64);
  ranks.index_put_({order}, torch::arange(1, scores.size(0) + 1, torch::kFloat64));
  const double p = positive.sum().item<double>(), n = static_cast<double>(positive.size(0)) - p;
  if (p == 0 || n == 0) return NAN;
  return ((ranks * positive.to(torch::kFloat64)).sum().item<double>() - p * (p + 1) / 2) / (p * n);
}

int run_manipulate(const ManipulateArgs& a) {
  const auto device = init_runtime();
  auto d = load_model(a.model, a.sampler, device);
  require_autoencoder(d, a.model);
  DDIM_CHECK_ARG(a.attribute.rfind("class:", 0) == 0 && a.attribute.size() > 6 &&
                     a.attribute.find_first_not_of("0123456789", 6) == std::string::npos,
                 "--attribute {}: expected class:K (the attribute 'is of class K')", a.attribute);
  const int64_t target = std::stoll(a.attribute.substr(6));
  std::vector<double> scales;
  for (const auto& s : parse_int_list(a.scales, "--scales")) scales.push_back(static_cast<double>(s));
  // 1. A linear classifier on the standardised codes of labelled training images.
  auto targs = a.train_data;
  if (targs.spec.empty()) targs.spec = d.data().spec;
  targs.pad_to = d.data().shape[1];
  targs.limit = a.train_examples;
  const auto train = targs.load();
  DDIM_CHECK_ARG(train.labels.defined(), "{}: --attribute class:K needs labelled data", train.spec);
  DDIM_CHECK_ARG(target < std::max<int64_t>(static_cast<int64_t>(train.classes.size()),
                                            train.labels.max().item<int64_t>() + 1),
                 "--attribute {}: the data has no class {}", a.attribute, target);
  const auto codes = semantic_codes(d, train.all(), a.sampler.batch);
  const auto mean = codes.mean(0), std = codes.std(0).clamp_min(1e-6);
  const auto zn = (codes - mean) / std;
  const auto y = (train.labels == target).to(torch::kFloat32);
  auto w = torch::zeros({zn.size(1)}, torch::requires_grad());
  auto b = torch::zeros({1}, torch::requires_grad());
  torch::optim::Adam adam({w, b}, torch::optim::AdamOptions(0.05));
  for (int it = 0; it < 300; ++it) {
    auto loss = torch::binary_cross_entropy_with_logits(zn.matmul(w) + b, y) + 1e-4 * w.square().sum();
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  auto test_args = targs.with_split("test");
  test_args.limit = 0;
  const auto test = test_args.load();
  const auto test_codes = (semantic_codes(d, test.all(), a.sampler.batch) - mean) / std;
  torch::Tensor scores;
  {
    torch::NoGradGuard ng;
    scores = test_codes.matmul(w) + b;
  }
  const auto positive = test.labels == target;
  const double test_auroc = auroc(scores, positive);
  const double accuracy = ((scores > 0) == positive).to(torch::kFloat64).mean().item<double>();
  // 2. Move each image's code along the unit direction (in standardised code units) and decode
  //    with the image's own x_T (Diff-AE Fig. 5).
  const auto direction = (w.detach() / w.detach().norm());
  const auto in = load_inputs(a.inputs, d.data());
  open_run_dir(a.out);
  const auto e = embed_images(d, a.model, in.images, a.embed, a.sampler, {});
  const auto zin = (e.codes - mean) / std;
  std::vector<torch::Tensor> rows;
  std::vector<std::string> labels;
  std::vector<std::vector<std::string>> captions;
  nlohmann::ordered_json per_scale = nlohmann::ordered_json::array();
  std::vector<torch::Tensor> columns;
  for (double s : scales) {
    auto z = (zin + s * direction) * std + mean;
    columns.push_back(
        crop_padding(generate(d, e.seeds, a.sampler.grid(d), {}, a.sampler.batch, {}, z), d.data()));
    // Does the decoded image carry the attribute more? Re-encode and score it.
    auto re = (semantic_codes(
                   d,
                   torch::constant_pad_nd(columns.back(), {d.data().padding.left, d.data().padding.right,
                                                           d.data().padding.top, d.data().padding.bottom}),
                   a.sampler.batch) -
               mean) /
              std;
    torch::NoGradGuard ng;
    per_scale.push_back(
        {{"scale", s}, {"probability", torch::sigmoid(re.matmul(w) + b).mean().item<double>()}});
  }
  for (int64_t i = 0; i < std::min<int64_t>(in.images.size(0), 8); ++i) {
    std::vector<torch::Tensor> r = {crop_padding(in.images.slice(0, i, i + 1), d.data())};
    std::vector<std::string> cap = {"input"};
    for (size_t c = 0; c < scales.size(); ++c) {
      r.push_back(columns[c].slice(0, i, i + 1));
      cap.push_back(fmt::format("{:+g}", scales[c]));
    }
    rows.push_back(torch::cat(r));
    labels.push_back(in.names[i]);
    captions.push_back(cap);
  }
  const std::string name =
      target < static_cast<int64_t>(train.classes.size()) ? train.classes[target] : std::to_string(target);
  LabeledRowsOptions lo;
  lo.title =
      fmt::format("z_sem moved towards '{}' (linear classifier AUROC {:.3f}); own x_T (Diff-AE Fig. 5)", name,
                  test_auroc);
  write_png(a.out + "/manipulation.png", labeled_rows(rows, labels, captions, lo));
  nlohmann::ordered_json j;
  j["model"] = a.model;
  j["attribute"] = a.attribute;
  j["attribute_name"] = name;
  j["classifier"] = {{"train_examples", train.size()},
                     {"test_examples", test.size()},
                     {"auroc", test_auroc},
                     {"accuracy", accuracy}};
  j["scales"] = per_scale;
  write_json(a.out + "/manipulate.json", j.dump(2));
  spdlog::info(
      "linear classifier for '{}' on z_sem: AUROC {:.3f}, accuracy {:.1f}%; wrote {}/manipulation.png", name,
      test_auroc, 100 * accuracy, a.out);
  return 0;
}

}  // namespace

void setup_diffae(CLI::App& app) {
  auto e = std::make_shared<EncodeArgs>();
  auto* enc =
      app.add_subcommand("encode", "Diff-AE: images -> semantic codes z_sem and stochastic codes x_T");
  enc->add_option("--model", e->model, "Diffusion autoencoder (ddim train --arch diffae)")->required();
  enc->add_option("--out", e->out, "Output directory (zsem.pt, xT.pt)")->capture_default_str();
  add_input_options(enc, e->inputs);
  add_embed_options(enc, e->embed, false);
  add_sampler_options(enc, e->sampler, false);
  on_run(enc, [e] { return run_encode(*e); });

  auto dd = std::make_shared<DecodeArgs>();
  auto* dec = app.add_subcommand("decode", "Diff-AE: semantic codes (and x_T, or random) -> images");
  dec->add_option("--model", dd->model, "Diffusion autoencoder")->required();
  dec->add_option("--zsem", dd->zsem, "Semantic codes [N, d] (.pt)")->required();
  dec->add_option("--xT", dd->xt, "Stochastic codes [N, C, H, W] (.pt); default random from --seed");
  dec->add_option("--out", dd->out, "Output directory")->capture_default_str();
  add_sampler_options(dec, dd->sampler, false);
  on_run(dec, [dd] { return run_decode(*dd); });

  auto t = std::make_shared<TrainLatentArgs>();
  t->mlp.width = 512;
  t->mlp.layers = 10;
  t->train.batch = 256;
  auto* tl = app.add_subcommand("train-latent",
                                "Diff-AE: train a latent DDIM over z_sem (deep MLP with skips, L1 loss)");
  tl->add_option("--model", t->model, "Diffusion autoencoder (its encoder stays frozen)")->required();
  tl->add_option("--out", t->out, "Run directory")->required();
  add_data_options(tl, t->data);
  t->data.spec = "";
  tl->get_option("--data")
      ->description("Images to encode (default: the model's training data)")
      ->default_str("");
  tl->add_option("--steps", t->steps, "Training steps")->check(kPositive)->capture_default_str();
  tl->add_option("--batch", t->train.batch, "Batch size")->check(kPositive)->capture_default_str();
  tl->add_option("--lr", t->train.lr, "AdamW learning rate")->check(kPositive)->capture_default_str();
  tl->add_option("--width", t->mlp.width, "MLP width")->check(kPositive)->capture_default_str();
  tl->add_option("--layers", t->mlp.layers, "MLP layers (Diff-AE: 10-20)")
      ->check(kPositive)
      ->capture_default_str();
  on_run(tl, [t] { return run_train_latent(*t); });

  auto m = std::make_shared<ManipulateArgs>();
  auto* man =
      app.add_subcommand("manipulate", "Diff-AE: move z_sem along a linear classifier's direction (Fig. 5)");
  man->footer(
      "\nExample: ddim manipulate --model runs/ae/model.pt --limit 8 --attribute class:7 --scales "
      "-2,-1,0,1,2");
  man->add_option("--model", m->model, "Diffusion autoencoder")->required();
  man->add_option("--attribute", m->attribute, "class:K: the attribute 'is of class K'")->required();
  man->add_option("--scales", m->scales, "Steps along the unit direction (standardised code units)")
      ->capture_default_str();
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
