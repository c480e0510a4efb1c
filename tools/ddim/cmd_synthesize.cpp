// `ddim synthesize`: clouds of seeds for target images by gradient descent through the
// unrolled DDIM sampler (seed paper section 5.1, Fig. 11).
#include <fstream>

#include "commands.h"
#include "common.h"
#include "ddim/annotate.h"
#include "ddim/error.h"
#include "ddim/file.h"
#include "ddim/image.h"
#include "ddim/metrics.h"
#include "ddim/pipeline.h"
#include "ddim/rng.h"
#include "ddim/synthesis.h"
#include "ddim/tensor_io.h"
#include "inputs.h"
#include "progress.h"
#include "sampling_args.h"

namespace ddim::cli {
namespace {

struct SynthesizeArgs {
  std::string model, out = "synthesis", init, loss = "mae", weights = "ema";
  InputArgs inputs;
  int64_t seeds_per_image = 16;
  int64_t show = 5;
  bool bf16 = false;
  SynthesisOptions options;
};

int run_synthesize(SynthesizeArgs a) {
  const auto device = init_runtime();
  auto d = load_denoiser(a.model, weights_from_string(a.weights));
  d.to(device);
  d.set_mixed_precision(a.bf16);
  const auto& info = d.data();
  const auto in = load_inputs(a.inputs, info);
  a.options.loss = loss_from_string(a.loss);
  torch::Tensor init;
  if (!a.init.empty()) {
    init = load_seeds(a.init, info);
    const int64_t images = in.images.size(0);
    DDIM_CHECK_ARG(init.size(0) % images == 0 && init.size(0) / images == a.seeds_per_image,
                   "{}: holds {} seeds, but {} images x {} seeds per image are needed", a.init, init.size(0),
                   images, a.seeds_per_image);
    auto shape = init.sizes().vec();
    shape[0] = a.seeds_per_image;
    shape.insert(shape.begin(), images);
    init = init.view(shape);
  }
  open_run_dir(a.out);
  const int64_t images = in.images.size(0), total = images * a.seeds_per_image;
  const int64_t groups = (total + a.options.batch - 1) / a.options.batch;
  spdlog::info("synthesising {} seeds for each of {} images: {} iterations of Adam (lr {}), S = {}{}",
               a.seeds_per_image, images, a.options.iterations, a.options.lr, a.options.steps,
               a.options.checkpointing ? ", per-step gradient checkpointing" : "");
  Progress progress("synthesize", a.options.iterations * groups, "it");
  std::ofstream metrics(a.out + "/metrics.jsonl", std::ios::trunc);
  int64_t group = 0, last_begin = -1;
  auto gen = make_generator(global_options().seed);
  const auto result =
      synthesize_seeds(d, in.images, a.seeds_per_image, init, a.options, gen,
                       [&](int64_t it, const torch::Tensor& dist, int64_t begin, int64_t end) {
                         if (begin != last_begin) {
                           if (last_begin >= 0) ++group;
                           last_begin = begin;
                         }
                         // The mean distance of each image's seeds in this group.
                         auto cpu = dist.to(torch::kCPU, torch::kFloat64);
                         nlohmann::ordered_json j;
                         j["iteration"] = it;
                         j["seeds"] = {begin, end};
                         j["loss_mean"] = cpu.mean().item<double>();
                         j["loss_max"] = cpu.max().item<double>();
                         nlohmann::ordered_json per = nlohmann::ordered_json::object();
                         for (int64_t s = begin; s < end; ++s) {
                           const auto key = std::to_string(s / a.seeds_per_image);
                           per[key] = per.value(key, 0.0) + cpu[s - begin].item<double>() / a.seeds_per_image;
                         }
                         j["loss_per_image"] = per;
                         metrics << j.dump() << '\n';
                         progress.update(group * a.options.iterations + it,
                                         fmt::format("loss {:.4f}", j["loss_mean"].get<double>()));
                       });
  progress.finish();
  metrics.close();
  save_tensor(a.out + "/seeds.pt", result.seeds);
  save_tensor(a.out + "/targets.pt", in.images);
  // Per seed and mean, in the shared layout (over the original pixels).
  const auto originals = crop_padding(in.images, info);
  const auto outputs = crop_padding(result.outputs.flatten(0, 1), info);
  auto cloud_shape = outputs.sizes().vec();
  cloud_shape[0] = a.seeds_per_image;
  cloud_shape.insert(cloud_shape.begin(), images);
  save_tensor(a.out + "/outputs.pt", outputs.reshape(cloud_shape));
  const auto targets = originals.unsqueeze(1).expand({images, a.seeds_per_image, -1, -1, -1}).flatten(0, 1);
  const auto report = ReconstructionReport::compute(targets, outputs);
  nlohmann::ordered_json extra;
  extra["model"] = a.model;
  extra["method"] = a.init.empty() ? "gradient-descent" : "gradient-descent-refinement";
  extra["images"] = images;
  extra["seeds_per_image"] = a.seeds_per_image;
  extra["iterations"] = result.iterations;
  extra["steps"] = a.options.steps;
  auto j = report.to_json(extra);
  for (int64_t s = 0; s < total; ++s) {
    j["per_image"][s]["image"] = s / a.seeds_per_image;
    j["per_image"][s]["seed"] = s % a.seeds_per_image;
  }
  write_json(a.out + "/metrics.json", j.dump(2));
  // The paper's Fig. 11: the target, then seeds and their images.
  if (info.is_image()) {
    const int64_t show = std::min(a.show, a.seeds_per_image);
    std::vector<torch::Tensor> rows;
    std::vector<std::string> labels;
    std::vector<std::vector<std::string>> captions;
    for (int64_t i = 0; i < std::min<int64_t>(images, 8); ++i) {
      auto seeds = seed_to_image(crop_padding(result.seeds[i].slice(0, 0, show), info));
      auto outs = crop_padding(result.outputs[i].slice(0, 0, show), info);
      rows.push_back(torch::cat({originals.slice(0, i, i + 1), seeds}));
      rows.push_back(torch::cat({originals.slice(0, i, i + 1), outs}));
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
                    result.iterations, a.options.steps);
    write_png(a.out + "/synthesis.png", labeled_rows(rows, labels, captions, lo));
  }
  spdlog::info("mean MSE {:.6f} over {} seeds ({} images); wrote {}/seeds.pt, synthesis.png, metrics.json",
               report.mean_mse(), total, images, a.out);
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
  sub->add_option("--iters", a->options.iterations, "Adam iterations")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--steps", a->options.steps, "DDIM steps S of the unrolled sampler")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--lr", a->options.lr, "Adam learning rate")->check(kPositive)->capture_default_str();
  sub->add_option("--loss", a->loss, "Distance to the target: mae (the authors') or mse")
      ->check(CLI::IsMember({"mae", "mse"}))
      ->capture_default_str();
  sub->add_option("--penalty", a->options.seed_penalty, "Weight of mean(z^2)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--tolerance", a->options.tolerance,
                  "Stop when every seed's distance is below this (0: never)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_flag(
      "--checkpointing", a->options.checkpointing,
      "Per-step gradient checkpointing: memory of one step instead of S, for a second forward pass");
  sub->add_option("--batch", a->options.batch, "Seeds optimised together")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--weights", a->weights, "ema or raw denoiser weights")
      ->check(CLI::IsMember({"ema", "raw"}))
      ->capture_default_str();
  add_bf16_flag(sub, a->bf16);
  sub->add_option("--show", a->show, "Seeds per image in the picture")
      ->check(kPositive)
      ->capture_default_str();
  on_run(sub, [a] { return run_synthesize(*a); });
}

}  // namespace ddim::cli
