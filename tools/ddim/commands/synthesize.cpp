// `ddim synthesize`: clouds of seeds for target images by gradient descent through the
// unrolled DDIM sampler (seed paper section 5.1, Fig. 11).
#include <fstream>

#include "commands.h"
#include "common/common.h"
#include "common/inputs.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/synthesis.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/metrics/metrics.h"
#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"

namespace ddim::cli {
namespace {

struct SynthesizeArgs {
  std::string model, out = "synthesis", init;
  Weights weights = Weights::EMA;
  InputArgs inputs;
  int64_t seeds_per_image = 16;
  int64_t show = 5;
  bool bf16 = false;
  SynthesisOptions options;
  ClassArgs klass;
};

// Given seeds, [images * K, ...] or [images, K, ...], as the [images, K, ...] cloud.
torch::Tensor load_init(const SynthesizeArgs& a, int64_t images, const DataInfo& info) {
  if (a.init.empty()) return {};
  auto init = load_seeds(a.init, info);
  DDIM_CHECK_ARG(init.size(0) == images * a.seeds_per_image,
                 "{}: holds {} seeds, but {} images x {} seeds per image are needed", a.init, init.size(0),
                 images, a.seeds_per_image);
  auto shape = init.sizes().vec();
  shape[0] = a.seeds_per_image;
  shape.insert(shape.begin(), images);
  return init.view(shape);
}

// One metrics.jsonl line per iteration and group of seeds, and the progress bar.
class IterationLog {
 public:
  IterationLog(const std::string& path, const SynthesizeArgs& a, int64_t groups)
      : out_(path, std::ios::trunc), a_(a), progress_("synthesize", a.options.iterations * groups, "it") {}
  void operator()(int64_t it, const torch::Tensor& dist, int64_t begin, int64_t end) {
    if (begin != last_begin_) {
      if (last_begin_ >= 0) ++group_;
      last_begin_ = begin;
    }
    auto cpu = dist.to(torch::kCPU, torch::kFloat64);
    nlohmann::ordered_json j;
    j["iteration"] = it;
    j["seeds"] = {begin, end};
    j["loss_mean"] = cpu.mean().item<double>();
    j["loss_max"] = cpu.max().item<double>();
    // The mean distance of each image's seeds in this group.
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (int64_t s = begin; s < end; ++s) {
      const auto key = std::to_string(s / a_.seeds_per_image);
      per[key] =
          per.value(key, 0.0) + cpu[s - begin].item<double>() / static_cast<double>(a_.seeds_per_image);
    }
    j["loss_per_image"] = per;
    out_ << j.dump() << '\n';
    progress_.update(group_ * a_.options.iterations + it,
                     fmt::format("loss {:.4f}", j["loss_mean"].get<double>()));
  }
  void finish() { progress_.finish(); }

 private:
  std::ofstream out_;
  const SynthesizeArgs& a_;
  Progress progress_;
  int64_t group_ = 0, last_begin_ = -1;
};

// The paper's Fig. 11: per image, the target, then seeds and their images with their MSE.
void write_figure(const std::string& path, const SynthesisResult& r, const torch::Tensor& originals,
                  const ReconstructionReport& report, const Inputs& in, const DataInfo& info,
                  const SynthesizeArgs& a) {
  const int64_t show = std::min(a.show, a.seeds_per_image);
  std::vector<torch::Tensor> rows;
  std::vector<std::string> labels;
  std::vector<std::vector<std::string>> captions;
  for (int64_t i = 0; i < std::min<int64_t>(originals.size(0), 8); ++i) {
    const auto target = originals.slice(0, i, i + 1);
    rows.push_back(torch::cat({target, seed_to_image(info.crop(r.seeds[i].slice(0, 0, show)))}));
    rows.push_back(torch::cat({target, info.crop(r.outputs[i].slice(0, 0, show))}));
    labels.push_back(fmt::format("{} seeds", in.names[i]));
    labels.push_back("their images");
    std::vector<std::string> cap = {"target"};
    for (int64_t s = 0; s < show; ++s)
      cap.push_back(fmt::format("{:.4f}", report.mse[i * a.seeds_per_image + s].item<double>()));
    captions.push_back({"target"});
    captions.push_back(cap);
  }
  LabeledRowsOptions lo;
  lo.title =
      fmt::format("seeds found by gradient descent ({} iterations, S = {}); MSE above each image (Fig. 11)",
                  r.iterations, a.options.steps);
  write_png(path, labeled_rows(rows, labels, captions, lo));
}

void write_outputs(const SynthesizeArgs& a, const SynthesisResult& r, const Inputs& in,
                   const DataInfo& info) {
  const int64_t images = in.images.size(0), k = a.seeds_per_image;
  save_tensor(a.out + "/seeds.pt", r.seeds);
  save_tensor(a.out + "/targets.pt", in.images);
  // Per seed and mean, in the shared layout (over the original pixels).
  const auto originals = info.crop(in.images);
  const auto outputs = info.crop(r.outputs.flatten(0, 1));
  auto cloud_shape = outputs.sizes().vec();
  cloud_shape[0] = k;
  cloud_shape.insert(cloud_shape.begin(), images);
  save_tensor(a.out + "/outputs.pt", outputs.reshape(cloud_shape));
  const auto targets = originals.unsqueeze(1).expand({images, k, -1, -1, -1}).flatten(0, 1);
  const auto report = ReconstructionReport::compute(targets, outputs);
  nlohmann::ordered_json extra;
  extra["model"] = a.model;
  extra["method"] = a.init.empty() ? "gradient-descent" : "gradient-descent-refinement";
  extra["images"] = images;
  extra["seeds_per_image"] = k;
  extra["iterations"] = r.iterations;
  extra["steps"] = a.options.steps;
  auto j = report.to_json(extra);
  for (int64_t s = 0; s < images * k; ++s) {
    j["per_image"][s]["image"] = s / k;
    j["per_image"][s]["seed"] = s % k;
  }
  write_json(a.out + "/metrics.json", j);
  if (info.is_image()) write_figure(a.out + "/synthesis.png", r, originals, report, in, info, a);
  spdlog::info("mean MSE {:.6f} over {} seeds ({} images); wrote {}/seeds.pt, synthesis.png, metrics.json",
               report.mean_mse(), images * k, images, a.out);
}

int run_synthesize(const SynthesizeArgs& a) {
  const auto device = init_runtime();
  auto d = load_denoiser(a.model, a.weights);
  d.to(device);
  d.set_mixed_precision(a.bf16);
  const auto& info = d.data();
  const auto in = load_inputs(a.inputs, info);
  const auto init = load_init(a, in.images.size(0), info);
  auto options = a.options;
  options.condition = a.klass.condition(d, in.images.size(0), in.labels);
  open_run_dir(a.out);
  const int64_t total = in.images.size(0) * a.seeds_per_image;
  spdlog::info("synthesising {} seeds for each of {} images: {} iterations of Adam (lr {}), S = {}{}",
               a.seeds_per_image, in.images.size(0), a.options.iterations, a.options.lr, a.options.steps,
               a.options.checkpointing ? ", per-step gradient checkpointing" : "");
  IterationLog log(a.out + "/metrics.jsonl", a, (total + a.options.batch - 1) / a.options.batch);
  auto gen = make_generator(global_options().seed);
  const auto result = synthesize_seeds(d, in.images, a.seeds_per_image, init, options, gen, std::ref(log));
  log.finish();
  write_outputs(a, result, in, info);
  return 0;
}

}  // namespace

void setup_synthesize(CLI::App& app) {
  auto a = std::make_shared<SynthesizeArgs>();
  auto* sub = app.add_subcommand(
      "synthesize", "Find seeds of target images by gradient descent through DDIM (paper Sec. 5.1)");
  sub->footer(
      "\nWrites seeds.pt ([images, K, C, H, W]), targets.pt, outputs.pt, synthesis.png (Fig. 11),\n"
      "metrics.json (per seed and mean) and metrics.jsonl (the loss of every iteration).\n"
      "Analyse the clouds with: ddim cloud --model M --cloud DIR/seeds.pt --out DIR2");
  sub->add_option("--model", a->model, "Denoiser checkpoint")->required();
  sub->add_option("--out", a->out, "Output directory")->capture_default_str();
  add_input_options(sub, a->inputs, 8);
  sub->add_option("--seeds-per-image", a->seeds_per_image, "Seeds K per image (a cloud)")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--init", a->init,
                  "Start from these seeds (refinement), [images * K, C, H, W] or [images, K, C, H, W]");
  auto& o = a->options;
  sub->add_option("--iters", o.iterations, "Adam iterations")->check(kPositive)->capture_default_str();
  sub->add_option("--steps", o.steps, "DDIM steps S of the unrolled sampler")
      ->check(kPositive)
      ->capture_default_str();
  add_enum_option(sub, "--end", o.end, "Last grid point of the sampler: x0 (the paper) or t0");
  sub->add_option("--lr", o.lr, "Adam learning rate")->check(kPositive)->capture_default_str();
  add_enum_option(sub, "--loss", o.loss, "Distance to the target: mae (the authors') or mse");
  sub->add_option("--penalty", o.seed_penalty, "Weight of mean(z^2)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--tolerance", o.tolerance, "Stop when every seed's distance is below this (0: never)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_flag(
      "--checkpointing", o.checkpointing,
      "Per-step gradient checkpointing: memory of one step instead of S, for a second forward pass");
  sub->add_option("--batch", o.batch, "Seeds optimised together")->check(kPositive)->capture_default_str();
  add_enum_option(sub, "--weights", a->weights, "ema or raw denoiser weights");
  add_bf16_flag(sub, a->bf16);
  add_class_options(sub, a->klass, ", or label (each image's own label)");
  sub->add_option("--show", a->show, "Seeds per image in the picture")
      ->check(kPositive)
      ->capture_default_str();
  on_run(sub, [a] { return run_synthesize(*a); });
}

}  // namespace ddim::cli
