// `ddim eval`: what ddim's small CNN classifier says about samples (a Fréchet distance on its
// features, the class distribution) and about reconstructions (how often an embedding keeps
// the original's class).
#include <filesystem>

#include "commands.h"
#include "common/common.h"
#include "common/inputs.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "ddim/analysis/evaluation.h"
#include "ddim/core/error.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/tensor_io.h"

namespace ddim::cli {
namespace {

struct EvalArgs {
  std::string classifier, model, samples, reconstruction, out = "eval";
  bool real = false;
  int64_t n = 1000;
  DataSource reference;
  SamplerArgs sampler;
};

torch::Tensor fit_to(const torch::Tensor& images, const DataInfo& info) {
  DDIM_CHECK_ARG(images.dim() == 4 && images.size(0) > 0, "expected images [N, C, H, W], got {}",
                 fmt::join(images.sizes(), "x"));
  std::vector<torch::Tensor> v;
  for (int64_t i = 0; i < images.size(0); ++i) v.push_back(images[i]);
  return conform_images(v, info);
}

// Semantic faithfulness of an embedding: does the classifier see the same class?
int eval_reconstruction(const EvalArgs& a, LoadedClassifier& c) {
  const auto& dir = a.reconstruction;
  const auto originals = fit_to(load_image_batch(dir + "/originals.pt"), c.data);
  const auto outputs = fit_to(load_image_batch(dir + "/reconstructions.pt"), c.data);
  std::error_code ec;
  const auto labels = std::filesystem::exists(dir + "/labels.pt", ec)
                          ? load_tensor(dir + "/labels.pt").to(torch::kInt64)
                          : torch::Tensor();
  const auto f = reconstruction_faithfulness(*c.network, originals, outputs, labels);
  open_run_dir(a.out);
  auto j = f.to_json();
  j["classifier"] = a.classifier;
  j["reconstruction"] = dir;
  j["note"] = "Fréchet distance on the features of ddim's own classifier (not Inception FID)";
  write_json(a.out + "/eval.json", j);
  spdlog::info(
      "the classifier keeps the original's class for {:.1f}% of {} reconstructions; wrote {}/eval.json",
      100 * f.class_kept, f.images, a.out);
  return 0;
}

torch::Tensor generate_samples(const EvalArgs& a, const DataInfo& info) {
  DDIM_CHECK_ARG(!a.model.empty(),
                 "give --model (to generate samples), --samples FILE or --reconstruction DIR");
  const auto d = load_model(a.model, a.sampler, init_runtime());
  Progress progress("sample", a.n, "img");
  auto samples =
      generate(d, random_seeds(d.data(), a.n, global_options().seed), a.sampler.grid(d),
               a.sampler.sample_options(d), a.sampler.batch, [&](int64_t done) { progress.update(done); });
  progress.finish();
  return fit_to(d.data().crop(samples), info);
}

// The floor of the Fréchet distance: N real images of the reference data's other split (train
// against the test split), which no sampler can beat by more than the estimate's noise.
torch::Tensor real_samples(const EvalArgs& a, DataSource source) {
  DDIM_CHECK_ARG(source.options.split != Split::All,
                 "--real scores one split against the other: give --split test (or train), not all");
  source.options.split = source.options.split == Split::Train ? Split::Test : Split::Train;
  source.options.limit = a.n;
  return source.load().all();
}

int run_eval(const EvalArgs& a) {
  const auto device = init_runtime();
  auto c = load_classifier(a.classifier);
  c.network->to(device);
  if (!a.reconstruction.empty()) return eval_reconstruction(a, c);
  auto source = seeded(a.reference);
  if (source.spec.empty()) source.spec = c.data.spec;
  source.options.pad_to = c.data.shape[1];
  const auto samples = a.real              ? real_samples(a, source)
                       : a.samples.empty() ? generate_samples(a, c.data)
                                           : fit_to(load_image_batch(a.samples), c.data);
  const auto reference = source.load();
  const auto q = sample_quality(*c.network, samples, reference.all(), reference.labels);
  open_run_dir(a.out);
  auto j = q.to_json(c.data);
  j["classifier"] = a.classifier;
  if (a.real) j["samples_from"] = fmt::format("{} real images of the other split", samples.size(0));
  j["reference"] = fmt::format("{} ({} split, {} images)", reference.spec, to_string(source.options.split),
                               reference.size());
  j["note"] =
      "Fréchet distance on the 128 features of ddim's own classifier, not Inception FID: compare it only "
      "between runs evaluated with the same classifier";
  write_json(a.out + "/eval.json", j);
  spdlog::info(
      "Fréchet distance {:.3f} (on the classifier's features; not Inception FID) between {} samples and {}; "
      "wrote {}/eval.json",
      q.frechet_distance, q.samples, j["reference"].get<std::string>(), a.out);
  return 0;
}

}  // namespace

void setup_eval(CLI::App& app) {
  auto e = std::make_shared<EvalArgs>();
  auto* ev = app.add_subcommand(
      "eval", "Sample quality (Fréchet distance on classifier features) or embedding faithfulness");
  ev->footer(
      "\nModes:\n"
      "  ddim eval --classifier C --model M --n 1000     # samples of M against the test split\n"
      "  ddim eval --classifier C --samples samples.pt   # given images against the test split\n"
      "  ddim eval --classifier C --real --n 1000        # the floor: training images against test ones\n"
      "  ddim eval --classifier C --reconstruction DIR   # a ddim reconstruct directory: class kept?\n"
      "The Fréchet distance is computed on ddim's own classifier's features: it is not Inception FID.");
  ev->add_option("--classifier", e->classifier, "Classifier checkpoint (ddim train-classifier)")->required();
  auto* m = ev->add_option("--model", e->model, "Denoiser to sample");
  auto* s = ev->add_option("--samples", e->samples, "Images [N, C, H, W] in [0, 1] (.pt)");
  auto* r = ev->add_option("--reconstruction", e->reconstruction, "A ddim reconstruct output directory");
  auto* real = ev->add_flag("--real", e->real,
                            "Score N real images of the other split (train against test) instead of samples: "
                            "the floor that a perfect sampler reaches");
  m->excludes(s)->excludes(r)->excludes(real);
  s->excludes(r)->excludes(real);
  r->excludes(real);
  ev->add_option("--n", e->n, "Samples to generate")->check(kPositive)->capture_default_str();
  add_data_options(ev, e->reference, Split::Test);
  e->reference.spec = "";
  ev->get_option("--data")->description("Reference images (default: the classifier's data)")->default_str("");
  ev->add_option("--out", e->out, "Output directory")->capture_default_str();
  add_sampler_options(ev, e->sampler);
  on_run(ev, [e] { return run_eval(*e); });
}

}  // namespace ddim::cli
