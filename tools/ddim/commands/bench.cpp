// `ddim bench`: speed and memory of the hot loops, one JSON line each, for side-by-side
// comparisons with the PyTorch baselines in bench/ (bench/run.sh runs both).
#include <sys/resource.h>

#include <chrono>
#include <functional>
#include <iostream>

#include "commands.h"
#include "common/common.h"
#include "ddim/core/profile.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/synthesis.h"
#include "ddim/nn/unet.h"
#include "ddim/nn/winograd.h"
#include "ddim/training/denoiser_trainer.h"
#include "ddim/training/embedder_trainer.h"
#include "ddim/training/training.h"

namespace ddim::cli {
namespace {

struct BenchArgs {
  std::vector<int64_t> widths = {32, 64, 96, 128};
  int64_t block_depth = 2;
  int64_t embedding_dims = 32;
  int64_t image_size = 32;
  int64_t channels = 1;
  int64_t batch = 64;
  int64_t iters = 20;
  int64_t warmup = 3;
  int64_t steps = 10;
  bool bf16 = false;
  bool nchw = false;
  bool plain = false;       // sample: the plain modules, not the prepared inference form
  bool direct = false;      // sample, invert: the prepared form without Winograd's convolutions
  int64_t fixed_point = 0;  // invert: fixed-point refinements per step (0: plain DDIM inversion)
  int64_t cond_dim = 0;     // sample, invert: a U-Net conditioned as Diff-AE's decoder (0: the paper's)
  bool unfolded = false;    // sample, invert: the norms apart, as in training
  EmbedderArch arch = EmbedderArch::UNet;  // train-embedder
  bool checkpointing = false;
  bool profile = false;  // train, sample: also the per-operator table
};

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

UNetOptions unet_options(const BenchArgs& a) {
  UNetOptions o;
  o.channels = a.channels;
  o.image_size = a.image_size;
  o.widths = a.widths;
  o.block_depth = a.block_depth;
  o.embedding_dims = a.embedding_dims;
  if (a.cond_dim > 0) {  // Diff-AE's decoder: group norm, AdaGN from the time MLP and the condition
    o.cond_dim = a.cond_dim;
    o.norm = NormKind::Group;
  }
  o.validate();
  return o;
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

nlohmann::ordered_json report(const std::string& what, const BenchArgs& a, const torch::Device& device,
                              double seconds, double images) {
  nlohmann::ordered_json j;
  j["impl"] = "ddim";
  j["what"] = what;
  j["device"] = device.str();
  j["threads"] = torch::get_num_threads();
  j["widths"] = a.widths;
  j["image_size"] = a.image_size;
  j["channels"] = a.channels;
  j["batch"] = a.batch;
  j["iters"] = a.iters;
  j["bf16"] = a.bf16;
  j["channels_last"] = !a.nchw;
  j["seconds"] = seconds;
  j["images_per_s"] = images / seconds;
  j["peak_rss_mb"] = peak_rss_mb();
  return j;
}

// Random uint8 images of the benchmarked shape: what the training benchmarks learn from.
Dataset synthetic_images(const BenchArgs& a) {
  Dataset data;
  data.spec = "synthetic";
  data.storage = torch::randint(0, 256, {4 * a.batch, a.channels, a.image_size, a.image_size},
                                torch::TensorOptions().dtype(torch::kUInt8));
  return data;
}

// A randomly initialised U-Net as a frozen denoiser on `device`, in the benchmarked layout
// and precision.
Denoiser frozen_denoiser(const BenchArgs& a, const torch::Device& device) {
  auto net = std::make_shared<UNet>(unet_options(a));
  net->to(device);
  net->eval();
  net->set_channels_last(!a.nchw);
  net->set_prepared(!a.plain, !a.direct);
  if (a.unfolded) set_norm_folding(*net, false);
  for (auto& p : net->parameters()) p.set_requires_grad(false);
  DataInfo info;
  info.shape = {a.channels, a.image_size, a.image_size};
  Denoiser denoiser(net, ScheduleOptions{}, Standardizer::identity(a.channels), info);
  denoiser.set_mixed_precision(a.bf16);
  return denoiser;
}

// Seconds for `a.iters` training steps after `a.warmup` untimed ones; the loss is read once,
// at the end, as the training loop reads it only at log points.
double time_training_steps(TrainingTask& task, const BenchArgs& a, const torch::Device& device) {
  for (int64_t i = 0; i < a.warmup; ++i) task.step(i);
  synchronize(device);
  torch::Tensor last;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < a.iters; ++i) last = task.step(a.warmup + i);
  last.item<float>();
  synchronize(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// --profile: one more iteration under the operator profiler, and the machine's matrix-product
// rate, printed as Markdown tables after the JSON line; the line gains the run's GFLOP/s and
// its fraction of that rate (bf16 runs against the bf16 rate).
void profile_iteration(nlohmann::ordered_json& j, const BenchArgs& a, double seconds,
                       const std::function<void()>& iteration) {
  const auto p = profile_ops(iteration);
  const double per_iter = seconds / static_cast<double>(a.iters);
  // The bf16 rate where bf16 runs natively or was asked for (emulated, a 2048² product takes
  // seconds). oneDNN limited below the CPU's flags (DNNL_MAX_CPU_ISA=AVX2, to try an AVX2 machine's
  // code paths) has no bf16 product at all: then it is not measured either.
  const double gemm32 = gemm_gflops(2048, torch::kFloat);
  double gemm16 = 0.0;
  if (a.bf16 || cpu_has_bf16_units()) {
    try {
      gemm16 = gemm_gflops(2048, torch::kBFloat16);
    } catch (const std::exception&) {  // oneDNN's own error, through LibTorch
    }
  }
  const double gemm = a.bf16 ? gemm16 : gemm32;
  const double rate = p.flops / per_iter / 1e9;
  j["gflop_per_iteration"] = p.flops / 1e9;
  j["gflop_s"] = rate;
  j["gemm_gflop_s"] = gemm;
  j["fraction_of_gemm"] = rate / gemm;
  j["cpu"] = cpu_description();
  std::cout << j.dump() << "\n\n";
  std::cout << fmt::format(
      "{} ({}, batch {}, {} threads) on {}\n\nMatrix products 2048x2048: {:.0f} GFLOP/s fp32, {}. This "
      "run: {:.3f} GFLOP of convolutions and matrix products per iteration, {:.1f} ms per "
      "iteration timed: {:.0f} GFLOP/s, {:.0f}% of the {} rate.\n\n",
      j["what"].get<std::string>(), a.bf16 ? "bf16 autocast" : "fp32", a.batch, torch::get_num_threads(),
      cpu_description(), gemm32,
      gemm16 > 0 ? fmt::format("{:.0f} GFLOP/s bf16", gemm16) : "bf16 not measured (no native bf16)",
      p.flops / 1e9, per_iter * 1e3, rate, 100 * rate / gemm, a.bf16 ? "bf16" : "fp32");
  std::cout << "| group | share | ms per iteration | GFLOP/s |\n|---|---:|---:|---:|\n";
  for (const auto& g : p.by_group()) {
    const double ms = g.self_us / 1e3;
    std::cout << fmt::format("| {} | {:.1f}% | {:.2f} | {} |\n", g.name, 100 * g.self_us / p.total_us, ms,
                             g.flops > 0 ? fmt::format("{:.0f}", g.flops / (g.self_us * 1e3)) : "");
  }
  std::cout << "\n| operator | calls | share | ms |\n|---|---:|---:|---:|\n";
  for (size_t i = 0; i < std::min<size_t>(p.ops.size(), 15); ++i) {
    const auto& o = p.ops[i];
    std::cout << fmt::format("| {} | {} | {:.1f}% | {:.2f} |\n", o.name, o.calls,
                             100 * o.self_us / p.total_us, o.self_us / 1e3);
  }
  std::cout << std::flush;
}

int run_bench_train(const BenchArgs& a) {
  const auto device = init_runtime();
  DenoiserTrainOptions t;
  t.batch = a.batch;
  t.preview_samples = 0;
  t.bf16 = a.bf16;
  DenoiserTrainer trainer(unet_options(a).to_json(), ScheduleOptions{}, synthetic_images(a), nullptr, t,
                          device);
  trainer.model().set_channels_last(!a.nchw);
  const double s = time_training_steps(trainer, a, device);
  auto j = report("train", a, device, s, static_cast<double>(a.batch * a.iters));
  j["parameters"] = count_parameters(trainer.model());
  if (a.profile) {
    profile_iteration(j, a, s, [&] { trainer.step(a.warmup + a.iters).item<float>(); });
    return 0;
  }
  std::cout << j.dump() << std::endl;
  return 0;
}

// Times `run`, one no-grad pass of a batch through the frozen denoiser (sampling or inversion),
// and prints its JSON line (with `extra` after the steps), or with --profile its profile.
int time_inference(const std::string& what, const BenchArgs& a, const torch::Device& device,
                   const std::function<void()>& run, const nlohmann::ordered_json& extra = {}) {
  for (int64_t i = 0; i < a.warmup; ++i) run();
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < a.iters; ++i) run();
  synchronize(device);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto j = report(what, a, device, s, static_cast<double>(a.batch * a.iters));
  j["steps"] = a.steps;
  for (const auto& [k, v] : extra.items()) j[k] = v;
  j["cond_dim"] = a.cond_dim;
  j["folded"] = !a.unfolded;
  j["prepared"] = !a.plain && a.cond_dim == 0 && device.is_cpu() && prepared_inference_built();
  j["winograd"] = j["prepared"].get<bool>() && !a.direct && !a.bf16 && !winograd_simd_levels().empty();
  if (a.profile) {
    profile_iteration(j, a, s, run);
    return 0;
  }
  std::cout << j.dump() << std::endl;
  return 0;
}

// With --cond-dim, a random semantic vector per example for the conditioned U-Net; else none.
torch::Tensor semantic_condition(const BenchArgs& a, torch::Generator& gen, const torch::Device& device) {
  return a.cond_dim > 0 ? randn({a.batch, a.cond_dim}, gen).to(device) : torch::Tensor();
}

int run_bench_sample(const BenchArgs& a) {
  const auto device = init_runtime();
  const auto denoiser = frozen_denoiser(a, device);
  const auto grid = make_time_grid(denoiser.schedule(), a.steps);
  auto gen = make_generator(global_options().seed);
  torch::NoGradGuard no_grad;
  const auto cond = semantic_condition(a, gen, device);
  return time_inference("sample", a, device, [&] {
    auto seeds = randn({a.batch, a.channels, a.image_size, a.image_size}, gen).to(device);
    (void)ddim_sample(denoiser.eps_fn(cond), seeds, grid);
  });
}

// DDIM inversion (or fixed-point inversion, Meiri et al. 2023, with `fixed_point` refinements a
// step) of a batch of standard-normal stand-ins for standardised images: the timing does not
// depend on the values.
int run_bench_invert(const BenchArgs& a) {
  const auto device = init_runtime();
  const auto denoiser = frozen_denoiser(a, device);
  const auto grid = make_time_grid(denoiser.schedule(), a.steps);
  InvertOptions io;
  io.method = a.fixed_point > 0 ? InversionMethod::FixedPoint : InversionMethod::DDIM;
  io.iterations = std::max<int64_t>(a.fixed_point, 1);
  auto gen = make_generator(global_options().seed);
  torch::NoGradGuard no_grad;
  nlohmann::ordered_json extra;
  extra["method"] = to_string(io.method);
  extra["fixed_point"] = a.fixed_point;
  const auto cond = semantic_condition(a, gen, device);
  return time_inference(
      "invert", a, device,
      [&] {
        auto images = randn({a.batch, a.channels, a.image_size, a.image_size}, gen).to(device);
        (void)ddim_invert(denoiser.eps_fn(cond), images, grid, io);
      },
      extra);
}

// Gradient descent on seeds through the unrolled sampler: seconds per iteration and peak
// memory, with and without per-step checkpointing (run each in its own process: peak RSS is
// per process).
int run_bench_synthesize(const BenchArgs& a, bool checkpointing) {
  const auto device = init_runtime();
  const auto denoiser = frozen_denoiser(a, device);
  SynthesisOptions so;
  so.steps = a.steps;
  so.iterations = a.warmup;
  so.checkpointing = checkpointing;
  so.batch = a.batch;
  auto gen = make_generator(global_options().seed);
  auto targets = rand({a.batch, a.channels, a.image_size, a.image_size}, gen);
  if (a.warmup > 0) synthesize_seeds(denoiser, targets, 1, {}, so, gen);
  synchronize(device);
  so.iterations = a.iters;
  const auto rss_before = peak_rss_mb();
  const auto start = std::chrono::steady_clock::now();
  synthesize_seeds(denoiser, targets, 1, {}, so, gen);
  synchronize(device);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto j = report("synthesize", a, device, s, static_cast<double>(a.batch * a.iters));
  j["steps"] = a.steps;
  j["checkpointing"] = checkpointing;
  j["seconds_per_iteration"] = s / static_cast<double>(a.iters);
  j["peak_rss_mb_before_timing"] = rss_before;
  std::cout << j.dump() << std::endl;
  return 0;
}

// Training an embedding network through a frozen denoiser (S unrolled DDIM steps): images/s.
int run_bench_train_embedder(const BenchArgs& a) {
  const auto device = init_runtime();
  EmbedderOptions arch;
  arch.arch = a.arch;
  arch.channels = a.channels;
  arch.image_size = a.image_size;
  arch.widths = unet_options(a).widths;
  arch.block_depth = a.block_depth;
  EmbedderTrainOptions t;
  t.batch = a.batch;
  t.steps = a.steps;
  t.checkpointing = a.checkpointing;
  t.bf16 = a.bf16;
  t.preview_images = 0;
  t.validation_images = 1;
  EmbedderTrainer trainer(frozen_denoiser(a, device), DenoiserRef{}, arch, synthetic_images(a), nullptr, t,
                          device);
  trainer.embedder().set_channels_last(!a.nchw);
  const double s = time_training_steps(trainer, a, device);
  auto j = report("train-embedder", a, device, s, static_cast<double>(a.batch * a.iters));
  j["arch"] = to_string(a.arch);
  j["steps"] = a.steps;
  j["checkpointing"] = a.checkpointing;
  j["parameters"] = count_parameters(trainer.embedder());
  if (a.profile) {
    profile_iteration(j, a, s, [&] { trainer.step(a.warmup + a.iters).item<float>(); });
    return 0;
  }
  std::cout << j.dump() << std::endl;
  return 0;
}

// sample, invert: the conditioned U-Net (Diff-AE's decoder) and the unfolded norms.
void add_condition_options(CLI::App* sub, BenchArgs& a) {
  sub->add_option("--cond-dim", a.cond_dim,
                  "Condition the U-Net as Diff-AE's decoder is: group norm, and AdaGN from a time MLP and a "
                  "random semantic vector of this size (0: the paper's unconditioned U-Net)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_flag("--unfolded", a.unfolded,
                "Run the norms apart, as in training (batch norm before conv1, group norm before its "
                "modulation: nn/blocks.h), to measure what folding them gives");
}

void add_common(CLI::App* sub, BenchArgs& a) {
  add_list_option(sub, "--widths", a.widths, "U-Net widths");
  sub->add_option("--block-depth", a.block_depth, "Residual blocks per resolution")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--embedding-dims", a.embedding_dims, "Noise embedding size")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--image-size", a.image_size, "Image side")->check(kPositive)->capture_default_str();
  sub->add_option("--channels", a.channels, "Image channels")->check(kPositive)->capture_default_str();
  sub->add_option("--batch", a.batch, "Batch size")->check(kPositive)->capture_default_str();
  sub->add_option("--iters", a.iters, "Timed iterations")->check(kPositive)->capture_default_str();
  sub->add_option("--warmup", a.warmup, "Untimed iterations first")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_flag("--bf16", a.bf16,
                "bf16 autocast (GPUs with bf16 tensor cores; CPUs with AVX512-BF16 or AMX)");
  sub->add_flag("--nchw", a.nchw, "Use the NCHW layout instead of channels-last (to measure what it gives)");
}

}  // namespace

void setup_bench(CLI::App& app) {
  auto* bench = app.add_subcommand(
      "bench", "Measure speed and peak memory (one JSON line); bench/run.sh compares with PyTorch");
  bench->require_subcommand(1);
  auto train = std::make_shared<BenchArgs>();
  auto* t = bench->add_subcommand("train", "Training steps of the paper's U-Net on synthetic data: images/s");
  add_common(t, *train);
  t->add_flag("--profile", train->profile,
              "Also profile one step: time per operator and per group (convolutions, batch norm, SiLU, ...), "
              "GFLOP/s and the fraction of the machine's matrix-product rate, as Markdown tables");
  on_run(t, [train] { return run_bench_train(*train); });
  auto sample = std::make_shared<BenchArgs>();
  auto* s = bench->add_subcommand("sample", "DDIM sampling with the paper's U-Net: images/s");
  add_common(s, *sample);
  s->add_option("--steps", sample->steps, "DDIM steps")->check(kPositive)->capture_default_str();
  s->add_flag("--plain", sample->plain,
              "Run the plain U-Net modules, not the prepared inference form (nn/prepared_unet.h: folded, "
              "fused, prepacked), to measure what it gives");
  s->add_flag("--direct", sample->direct,
              "Run the prepared form's fp32 3x3 convolutions by oneDNN's direct kernels, not Winograd's "
              "F(2x2, 3x3) (nn/winograd.h), to measure what that gives");
  add_condition_options(s, *sample);
  s->add_flag("--profile", sample->profile,
              "Also profile one sampling run: time per operator and per group, GFLOP/s and the fraction of "
              "the machine's matrix-product rate, as Markdown tables");
  on_run(s, [sample] { return run_bench_sample(*sample); });
  auto invert = std::make_shared<BenchArgs>();
  auto* v =
      bench->add_subcommand("invert", "DDIM inversion (or fixed-point) with the paper's U-Net: images/s");
  add_common(v, *invert);
  v->add_option("--steps", invert->steps, "DDIM steps")->check(kPositive)->capture_default_str();
  v->add_option("--fixed-point", invert->fixed_point,
                "Fixed-point inversion with K refinements a step (K + 1 network calls a step); 0: plain DDIM "
                "inversion")
      ->check(kNonNegative)
      ->capture_default_str();
  v->add_flag("--plain", invert->plain, "Run the plain U-Net modules, not the prepared inference form");
  v->add_flag("--direct", invert->direct,
              "Run the prepared form's fp32 3x3 convolutions by oneDNN's direct kernels, not Winograd's");
  add_condition_options(v, *invert);
  v->add_flag("--profile", invert->profile,
              "Also profile one inversion: time per operator and per group, GFLOP/s and the fraction of the "
              "machine's matrix-product rate, as Markdown tables");
  on_run(v, [invert] { return run_bench_invert(*invert); });
  auto syn = std::make_shared<BenchArgs>();
  auto ckpt = std::make_shared<bool>(false);
  syn->batch = 16;
  syn->iters = 5;
  syn->warmup = 1;
  auto* y = bench->add_subcommand("synthesize",
                                  "Gradient descent on seeds through S DDIM steps: s/iteration, peak memory");
  add_common(y, *syn);
  y->add_option("--steps", syn->steps, "DDIM steps S unrolled")->check(kPositive)->capture_default_str();
  y->add_flag("--checkpointing", *ckpt, "Per-step gradient checkpointing");
  on_run(y, [syn, ckpt] { return run_bench_synthesize(*syn, *ckpt); });
  auto emb = std::make_shared<BenchArgs>();
  emb->batch = 16;
  emb->iters = 5;
  emb->warmup = 1;
  auto* e = bench->add_subcommand(
      "train-embedder", "Embedder training steps through a frozen denoiser of these widths: images/s");
  add_common(e, *emb);
  add_enum_option(e, "--arch", emb->arch, "Embedder architecture");
  e->add_option("--steps", emb->steps, "DDIM steps S unrolled")->check(kPositive)->capture_default_str();
  e->add_flag("--checkpointing", emb->checkpointing, "Per-step gradient checkpointing");
  e->add_flag("--profile", emb->profile,
              "Also profile one step: time per operator and per group, GFLOP/s and the fraction of the "
              "machine's matrix-product rate, as Markdown tables");
  on_run(e, [emb] { return run_bench_train_embedder(*emb); });
}

}  // namespace ddim::cli
