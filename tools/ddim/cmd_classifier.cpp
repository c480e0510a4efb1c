// `ddim train-classifier` and `ddim eval`: a small CNN classifier, and what it says about
// samples (a Fréchet distance on its features, the class distribution) and about
// reconstructions (how often an embedding keeps the original's class).
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "common.h"
#include "ddim/classifier.h"
#include "ddim/error.h"
#include "ddim/frechet.h"
#include "ddim/pipeline.h"
#include "ddim/rng.h"
#include "ddim/tensor_io.h"
#include "inputs.h"
#include "progress.h"
#include "sampling_args.h"
#include "training_run.h"

namespace ddim::cli {
namespace {

struct TrainClassifierArgs {
  DataArgs data;
  std::string out;
  ClassifierTrainOptions train;
  int64_t epochs = 5;
  int64_t log_every = 200;
};

int run_train_classifier(TrainClassifierArgs a) {
  const auto device = init_runtime();
  a.train.seed = global_options().seed;
  DDIM_CHECK_ARG(!a.out.empty(), "--out DIR is required");
  const auto data = a.data.load();
  std::unique_ptr<Dataset> test;
  try {
    test = std::make_unique<Dataset>(a.data.with_split("test").load());
  } catch (const Error&) {
  }
  nlohmann::json meta;
  meta["data_options"] = a.data.to_json();
  ClassifierTrainer trainer(data, test.get(), a.train, device, meta);
  open_run_dir(a.out);
  const int64_t steps = a.epochs * trainer.steps_per_epoch();
  spdlog::info("classifier, {} parameters; {} examples, {} epochs ({} steps)",
               count_parameters(trainer.network()), data.size(), a.epochs, steps);
  RunOptions ro;
  ro.dir = a.out;
  ro.steps = steps;
  ro.checkpoint_every = trainer.steps_per_epoch();
  ro.log_every = a.log_every;
  const auto result = drive_training(trainer, trainer.network(), ro, 0, "train-classifier", Parallel{});
  if (result.end == RunEnd::Stopped) return report_stopped(result, "train-classifier", a.out);
  // The accuracy on the whole test split.
  const Dataset& eval = test ? *test : data;
  const double acc = classifier_accuracy(trainer.network(), eval.all(), eval.labels);
  nlohmann::ordered_json j;
  j["test_accuracy"] = acc;
  j["split"] = test ? "test" : "train";
  j["examples"] = eval.size();
  write_json(a.out + "/accuracy.json", j.dump(2));
  spdlog::info("{} accuracy {:.2f}% on {} examples; classifier {}/model.pt", j["split"].get<std::string>(),
               100 * acc, eval.size(), a.out);
  return 0;
}

struct EvalArgs {
  std::string classifier, model, samples, reconstruction, out = "eval";
  int64_t n = 1000;
  DataArgs reference;
  SamplerArgs sampler;
};

int run_eval(EvalArgs a) {
  const auto device = init_runtime();
  auto c = load_classifier(a.classifier);
  c.network->to(device);
  const auto& info = c.data;
  nlohmann::ordered_json j;
  j["classifier"] = a.classifier;
  auto fit = [&](const torch::Tensor& images) {
    std::vector<torch::Tensor> v;
    for (int64_t i = 0; i < images.size(0); ++i) v.push_back(images[i]);
    return conform_images(v, info);
  };
  if (!a.reconstruction.empty()) {
    // Semantic faithfulness of an embedding: does the classifier see the same class?
    const auto originals = fit(load_image_batch(a.reconstruction + "/originals.pt"));
    const auto outputs = fit(load_image_batch(a.reconstruction + "/reconstructions.pt"));
    DDIM_CHECK_ARG(originals.size(0) == outputs.size(0), "{}: originals and reconstructions differ in number",
                   a.reconstruction);
    std::error_code ec;
    torch::Tensor labels;
    if (std::filesystem::exists(a.reconstruction + "/labels.pt", ec))
      labels = load_tensor(a.reconstruction + "/labels.pt").to(torch::kInt64);
    open_run_dir(a.out);  // the inputs are loaded and checked
    const auto [p_orig, f_orig] = classify(*c.network, originals);
    const auto [p_rec, f_rec] = classify(*c.network, outputs);
    j["reconstruction"] = a.reconstruction;
    j["images"] = originals.size(0);
    j["class_kept"] = (p_orig == p_rec).to(torch::kFloat64).mean().item<double>();
    if (labels.defined()) {
      j["accuracy_on_originals"] = (p_orig == labels).to(torch::kFloat64).mean().item<double>();
      j["accuracy_on_reconstructions"] = (p_rec == labels).to(torch::kFloat64).mean().item<double>();
    }
    if (originals.size(0) >= 2) j["frechet_distance_to_originals"] = frechet_distance(f_rec, f_orig);
    j["note"] = "Fréchet distance on the features of ddim's own classifier (not Inception FID)";
    write_json(a.out + "/eval.json", j.dump(2));
    spdlog::info(
        "the classifier keeps the original's class for {:.1f}% of {} reconstructions; wrote {}/eval.json",
        100 * j["class_kept"].get<double>(), originals.size(0), a.out);
    return 0;
  }
  torch::Tensor samples;
  if (!a.samples.empty()) {
    samples = fit(load_image_batch(a.samples));
    open_run_dir(a.out);
  } else {
    DDIM_CHECK_ARG(!a.model.empty(),
                   "give --model (to generate samples), --samples FILE or --reconstruction DIR");
    auto d = load_model(a.model, a.sampler, device);
    open_run_dir(a.out);
    auto gen = make_generator(global_options().seed);
    std::vector<int64_t> shape = {a.n};
    shape.insert(shape.end(), d.data().shape.begin(), d.data().shape.end());
    Progress progress("sample", a.n, "img");
    samples = fit(crop_padding(generate(d, randn(shape, gen), a.sampler.grid(d), a.sampler.sample_options(d),
                                        a.sampler.batch, [&](int64_t done) { progress.update(done); }),
                               d.data()));
    progress.finish();
  }
  auto ref_args = a.reference;
  if (ref_args.spec.empty()) ref_args.spec = info.spec;
  ref_args.pad_to = info.shape[1];
  const auto reference = ref_args.load();
  const auto [p_s, f_s] = classify(*c.network, samples);
  const auto [p_r, f_r] = classify(*c.network, reference.all());
  j["samples"] = samples.size(0);
  j["reference"] = fmt::format("{} ({} split, {} images)", reference.spec, ref_args.split, reference.size());
  j["frechet_distance"] = frechet_distance(f_s, f_r);
  j["note"] =
      "Fréchet distance on the 128 features of ddim's own classifier, not Inception FID: compare it only "
      "between runs evaluated with the same classifier";
  auto counts =
      torch::bincount(p_s, {}, info.classes.empty() ? 10 : static_cast<int64_t>(info.classes.size()));
  nlohmann::ordered_json dist;
  for (int64_t k = 0; k < counts.size(0); ++k) {
    const auto name = k < static_cast<int64_t>(info.classes.size()) ? info.classes[k] : std::to_string(k);
    dist[name] = counts[k].item<double>() / static_cast<double>(samples.size(0));
  }
  j["class_distribution"] = dist;
  if (reference.labels.defined())
    j["classifier_accuracy_on_reference"] =
        (p_r == reference.labels).to(torch::kFloat64).mean().item<double>();
  write_json(a.out + "/eval.json", j.dump(2));
  spdlog::info(
      "Fréchet distance {:.3f} (on the classifier's features; not Inception FID) between {} samples and {}; "
      "wrote {}/eval.json",
      j["frechet_distance"].get<double>(), samples.size(0), j["reference"].get<std::string>(), a.out);
  return 0;
}

}  // namespace

void setup_classifier(CLI::App& app) {
  auto t = std::make_shared<TrainClassifierArgs>();
  auto* tc = app.add_subcommand("train-classifier", "Train the small CNN classifier that ddim eval uses");
  add_data_options(tc, t->data);
  tc->add_option("--out", t->out, "Run directory")->required();
  tc->add_option("--epochs", t->epochs, "Passes over the data")->check(kPositive)->capture_default_str();
  tc->add_option("--batch", t->train.batch, "Batch size")->check(kPositive)->capture_default_str();
  tc->add_option("--lr", t->train.lr, "Adam learning rate")->check(kPositive)->capture_default_str();
  tc->add_option("--log-every", t->log_every, "Steps between metrics lines")
      ->check(kPositive)
      ->capture_default_str();
  on_run(tc, [t] { return run_train_classifier(*t); });

  auto e = std::make_shared<EvalArgs>();
  auto* ev = app.add_subcommand(
      "eval", "Sample quality (Fréchet distance on classifier features) or embedding faithfulness");
  ev->footer(
      "\nModes:\n"
      "  ddim eval --classifier C --model M --n 1000     # samples of M against the test split\n"
      "  ddim eval --classifier C --samples samples.pt   # given images against the test split\n"
      "  ddim eval --classifier C --reconstruction DIR   # a ddim reconstruct directory: class kept?\n"
      "The Fréchet distance is computed on ddim's own classifier's features: it is not Inception FID.");
  ev->add_option("--classifier", e->classifier, "Classifier checkpoint (ddim train-classifier)")->required();
  auto* m = ev->add_option("--model", e->model, "Denoiser to sample");
  auto* s = ev->add_option("--samples", e->samples, "Images [N, C, H, W] in [0, 1] (.pt)");
  auto* r = ev->add_option("--reconstruction", e->reconstruction, "A ddim reconstruct output directory");
  m->excludes(s)->excludes(r);
  s->excludes(r);
  ev->add_option("--n", e->n, "Samples to generate")->check(kPositive)->capture_default_str();
  add_data_options(ev, e->reference, "test");
  e->reference.spec = "";
  ev->get_option("--data")->description("Reference images (default: the classifier's data)")->default_str("");
  ev->add_option("--out", e->out, "Output directory")->capture_default_str();
  add_sampler_options(ev, e->sampler);
  on_run(ev, [e] { return run_eval(*e); });
}

}  // namespace ddim::cli
