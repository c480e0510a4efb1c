// `ddim train`: train a denoiser (a U-Net for images, an MLP for 2-D points) with the run
// machinery: progress bar, metrics.jsonl, atomic checkpoints, preview grids, exact resume.
#include <filesystem>

#include "commands.h"
#include "common.h"
#include "ddim/denoiser_trainer.h"
#include "ddim/diffae.h"
#include "ddim/error.h"
#include "ddim/mlp.h"
#include "ddim/unet.h"
#include "progress.h"
#include "training_run.h"

namespace ddim::cli {
namespace {

struct TrainArgs {
  DataArgs data;
  std::string out, resume;
  std::string arch = "auto";
  std::string widths = "32,64,96,128";
  int64_t block_depth = 2;
  int64_t embedding_dims = 32;
  double embedding_max_frequency = 1000.0;
  std::string norm = "batch";
  int64_t groups = 8;
  double dropout = 0.0;
  std::string attention;
  int64_t attention_heads = 4;
  int64_t z_dim = 64;
  int64_t mlp_width = 128;
  int64_t mlp_layers = 4;
  std::string schedule = "continuous-cosine";
  double min_signal = 0.02, max_signal = 0.95;
  int64_t timesteps = 1000;
  DenoiserTrainOptions train;
  std::string loss = "mae";
  int64_t steps = 0, epochs = 0;
  RunArgs run;
};

nlohmann::json make_arch(const TrainArgs& a, const Dataset& data) {
  std::string arch = a.arch;
  if (arch == "auto") arch = data.is_image() ? "unet" : "mlp";
  if (arch == "mlp") {
    DDIM_CHECK_ARG(!data.is_image(), "--arch mlp is for vector data (toy sets); {} holds images", data.spec);
    MLPOptions o;
    o.dim = data.example_shape()[0];
    o.width = a.mlp_width;
    o.layers = a.mlp_layers;
    o.embedding_dims = a.embedding_dims;
    o.embedding_max_frequency = a.embedding_max_frequency;
    o.dropout = a.dropout;
    o.validate();
    return o.to_json();
  }
  DDIM_CHECK_ARG(arch == "unet" || arch == "diffae", "unknown --arch '{}' (valid: auto, unet, mlp, diffae)",
                 arch);
  DDIM_CHECK_ARG(data.is_image(), "--arch {} needs images; {} holds points (use --arch mlp)", arch,
                 data.spec);
  UNetOptions o;
  const auto shape = data.example_shape();
  o.channels = shape[0];
  o.image_size = shape[1];
  o.widths = parse_int_list(a.widths, "--widths");
  o.block_depth = a.block_depth;
  o.embedding_dims = a.embedding_dims;
  o.embedding_max_frequency = a.embedding_max_frequency;
  o.norm = a.norm == "group" ? NormKind::Group : NormKind::Batch;
  o.groups = a.groups;
  o.dropout = a.dropout;
  if (!a.attention.empty()) o.attention_resolutions = parse_int_list(a.attention, "--attention");
  o.attention_heads = a.attention_heads;
  if (arch == "diffae") {
    // The diffusion autoencoder: a semantic encoder and an AdaGN-conditioned decoder.
    DiffAEOptions d;
    o.norm = NormKind::Group;
    o.cond_dim = a.z_dim;
    d.unet = o;
    d.z_dim = a.z_dim;
    d.unet.validate();
    return d.to_json();
  }
  o.validate();
  return o.to_json();
}

int run_train(TrainArgs a) {
  auto device = init_runtime();
  const auto parallel = init_parallel(a.run.dist_timeout, device);
  a.train.seed = global_options().seed;
  a.train.loss = loss_from_string(a.loss);
  Checkpoint resume_from;
  std::string resume_path;
  nlohmann::json arch;
  ScheduleOptions schedule;
  DataArgs data_args = a.data;
  if (!a.resume.empty()) {
    // Everything but the length of the run comes from the checkpoint.
    resume_path = latest_checkpoint(a.resume);
    resume_from = load_checkpoint(resume_path, "denoiser");
    const auto& m = resume_from.meta;
    arch = meta_at(m, "arch", resume_path);
    schedule = meta_parse(m, "schedule", resume_path, ScheduleOptions::from_json);
    data_args = meta_parse(m, "data_options", resume_path, DataArgs::from_json);
    const auto steps = a.steps, epochs = a.epochs;
    a.train = meta_parse(m, "train", resume_path, DenoiserTrainOptions::from_json);
    a.steps = steps > 0 ? steps : (epochs > 0 ? 0 : meta_get<int64_t>(m, "run.steps", resume_path));
    a.epochs = epochs;
    meta_parse(m, "run", resume_path, [&](const nlohmann::json& run) { return a.run.resume(run); });
    if (a.out.empty()) a.out = a.resume;
    DDIM_CHECK_ARG(std::filesystem::equivalent(a.out, a.resume),
                   "--resume {} continues that run in place; do not give another --out", a.resume);
  } else {
    DDIM_CHECK_ARG(!a.out.empty(), "--out RUN is required (or --resume RUN)");
    std::error_code ec;
    DDIM_CHECK_ARG(!parallel.primary() || !std::filesystem::exists(a.out + "/model.pt", ec),
                   "{} already holds a training run; continue it with --resume {} or choose another --out",
                   a.out, a.out);
    schedule.kind = schedule_kind_from_string(a.schedule);
    schedule.min_signal_rate = a.min_signal;
    schedule.max_signal_rate = a.max_signal;
    schedule.timesteps = a.timesteps;
    Schedule check(schedule);  // validates
  }
  spdlog::info("loading {} ({} split)", data_args.spec, data_args.split);
  const auto data = data_args.load();
  std::unique_ptr<Dataset> validation;
  try {
    validation = std::make_unique<Dataset>(data_args.with_split("test").load());
  } catch (const Error&) {
    // Sets without a test split validate on the first training examples.
  }
  if (arch.is_null()) arch = make_arch(a, data);
  a.train.validate();
  const int64_t world = parallel.group ? parallel.group->world_size() : 1;
  const int64_t steps_per_epoch = std::max<int64_t>(1, data.size() / (a.train.batch * world));
  const int64_t steps = a.epochs > 0 ? a.epochs * steps_per_epoch : (a.steps > 0 ? a.steps : 10000);
  // What a later --resume needs besides the trainer's own state.
  auto meta = nlohmann::json::object();
  meta["data_options"] = data_args.to_json();
  meta["run"] = a.run.to_json(steps);
  DenoiserTrainer trainer(arch, schedule, data, validation.get(), a.train, device, meta, parallel.sync());
  int64_t start = 0;
  if (!resume_path.empty()) {
    trainer.restore(resume_from, resume_path);
    start = meta_get<int64_t>(resume_from.meta, "step", resume_path);
    DDIM_CHECK_ARG(start <= steps, "{} is at step {}, beyond the requested {} steps", resume_path, start,
                   steps);
  }
  if (parallel.primary()) open_run_dir(a.out);
  if (world > 1)
    spdlog::info("data-parallel over {} processes: {} examples a step, {} on each", world,
                 a.train.batch * world, a.train.batch);
  spdlog::info("{} {} parameters, {} examples ({} steps an epoch), {} steps{}",
               arch.at("kind").get<std::string>(), count_parameters(trainer.model()), data.size(),
               trainer.steps_per_epoch(), steps,
               start > 0 ? fmt::format(", resuming at step {}", start) : "");
  const auto result =
      drive_training(trainer, trainer.model(), a.run.options(a.out, steps), start, "train", parallel);
  if (result.end == RunEnd::Stopped) return report_stopped(result, "train", a.out);
  spdlog::info("done: {} steps in {}; model {}/model.pt, samples {}/samples.png, metrics {}/metrics.jsonl",
               result.step, format_duration(result.seconds), a.out, a.out, a.out);
  return 0;
}

}  // namespace

void setup_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* sub = app.add_subcommand("train", "Train a denoiser (U-Net for images, MLP for 2-D points)");
  sub->footer(
      "\nExamples:\n"
      "  ddim train --config configs/quick.toml --out runs/q     # the quick Fashion-MNIST preset\n"
      "  ddim train --data toy:two-moons --steps 3000 --out runs/moons\n"
      "  ddim train --resume runs/q --steps 20000                 # continue, or extend, a run\n"
      "A run directory gets model.pt, checkpoints/, samples.png, metrics.jsonl, config.toml, log.txt.");
  add_data_options(sub, a->data);
  sub->add_option("--out", a->out, "Run directory to create");
  sub->add_option("--resume", a->resume, "Continue the run in this directory from its newest checkpoint");
  sub->add_option("--arch", a->arch,
                  "Network: auto (unet for images, mlp for points), unet, mlp, or diffae (a diffusion "
                  "autoencoder: semantic encoder + conditional U-Net)")
      ->check(CLI::IsMember({"auto", "unet", "mlp", "diffae"}))
      ->capture_default_str();
  sub->add_option("--z-dim", a->z_dim, "diffae: size of the semantic code z_sem")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--widths", a->widths, "U-Net channel widths, one per resolution")->capture_default_str();
  sub->add_option("--block-depth", a->block_depth, "Residual blocks per resolution")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--embedding-dims", a->embedding_dims, "Size of the noise-variance embedding")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--embedding-max-frequency", a->embedding_max_frequency, "Highest embedding frequency")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--norm", a->norm, "U-Net normalisation: batch (paper) or group")
      ->check(CLI::IsMember({"batch", "group"}))
      ->capture_default_str();
  sub->add_option("--groups", a->groups, "GroupNorm groups")->check(kPositive)->capture_default_str();
  sub->add_option("--dropout", a->dropout, "Dropout inside residual blocks")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  sub->add_option("--attention", a->attention,
                  "Self-attention at these resolutions, e.g. 16,8 (default: none)");
  sub->add_option("--attention-heads", a->attention_heads, "Attention heads")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--mlp-width", a->mlp_width, "MLP hidden width (point data)")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--mlp-layers", a->mlp_layers, "MLP hidden layers (point data)")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--schedule", a->schedule,
                  "Noise schedule: continuous-cosine (paper), linear, quadratic, cosine")
      ->check(CLI::IsMember(schedule_names()))
      ->capture_default_str();
  sub->add_option("--min-signal", a->min_signal, "Continuous cosine: signal rate at t = 1")
      ->capture_default_str();
  sub->add_option("--max-signal", a->max_signal, "Continuous cosine: signal rate at t = 0")
      ->capture_default_str();
  sub->add_option("--timesteps", a->timesteps, "Discrete schedules: T")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--batch", a->train.batch, "Batch size")->check(kPositive)->capture_default_str();
  auto* steps = sub->add_option("--steps", a->steps, "Training steps (default 10000 unless --epochs)")
                    ->check(kPositive);
  sub->add_option("--epochs", a->epochs, "Train for this many passes over the data instead")
      ->check(kPositive)
      ->excludes(steps);
  sub->add_option("--lr", a->train.lr, "AdamW learning rate")->check(kPositive)->capture_default_str();
  sub->add_option("--weight-decay", a->train.weight_decay, "AdamW weight decay")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--loss", a->loss, "Loss on the noise: mae (paper) or mse")
      ->check(CLI::IsMember({"mae", "mse"}))
      ->capture_default_str();
  sub->add_option("--ema-decay", a->train.ema_decay, "EMA decay of weights and BatchNorm statistics")
      ->check(CLI::Range(0.0, 0.999999))
      ->capture_default_str();
  sub->add_option("--ema-warmup", a->train.ema_warmup,
                  "Ramp the EMA decay as (1+k)/(10+k) early on (false: the paper's fixed decay)")
      ->capture_default_str();
  sub->add_option("--warmup", a->train.warmup, "Linear learning-rate warm-up steps")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--grad-clip", a->train.grad_clip, "Clip the gradient norm (0: off)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_flag("--bf16", a->train.bf16,
                "bf16 autocast for the forward pass (GPUs with bf16 tensor cores; CPUs with "
                "AVX512-BF16 or AMX, slower on other CPUs)");
  add_run_options(sub, a->run, "Steps between metrics lines",
                  "Steps between sample grids (0: with checkpoints)");
  sub->add_option("--preview-samples", a->train.preview_samples, "Images in the sample grid")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--preview-steps", a->train.preview_steps, "DDIM steps for the sample grid")
      ->check(kPositive)
      ->capture_default_str();
  on_run(sub, [a] { return run_train(*a); });
}

}  // namespace ddim::cli
