// `ddim train`: train a denoiser (a U-Net for images, an MLP for 2-D points, or a diffusion
// autoencoder) with the run machinery: progress bar, metrics.jsonl, atomic checkpoints,
// preview grids, exact resume.
#include "commands.h"
#include "common/common.h"
#include "common/sampling_args.h"
#include "common/training_run.h"
#include "ddim/core/error.h"
#include "ddim/nn/diffae.h"
#include "ddim/nn/mlp.h"
#include "ddim/nn/unet.h"
#include "ddim/training/denoiser_trainer.h"

namespace ddim::cli {
namespace {

struct TrainArgs {
  DataSource data;
  std::string out, resume, init;
  /// Network and schedule options given on the command line (or in --config): --init takes both
  /// from its model, so any of them is a mistake there.
  std::vector<std::string> network_options_given;
  std::string arch = "auto";
  UNetOptions unet;
  int64_t z_dim = 64;
  EncoderHead encoder_head = EncoderHead::Pool;
  bool class_conditional = false;
  int64_t class_embedding_dims = 64;
  MLPOptions mlp;
  ScheduleOptions schedule;
  DenoiserTrainOptions train;
  int64_t steps = 0, epochs = 0;
  RunArgs run;
};

// The network description (make_network) for the data: everything from the options but the
// data's shape.
nlohmann::json make_arch(const TrainArgs& a, const Dataset& data) {
  const auto kind = a.arch == "auto" ? (data.is_image() ? NetworkKind::UNet : NetworkKind::MLP)
                                     : from_string<NetworkKind>(a.arch);
  const auto shape = data.example_shape();
  DDIM_CHECK_ARG(!a.class_conditional || data.labels.defined(),
                 "--class-conditional needs labelled data; {} has no labels", data.spec);
  DDIM_CHECK_ARG(!a.class_conditional || kind == NetworkKind::UNet,
                 "--class-conditional is for the U-Net; {}",
                 kind == NetworkKind::MLP ? "the MLP for points takes no class"
                                          : "a diffusion autoencoder is conditioned on its codes");
  DDIM_CHECK_ARG(a.encoder_head == EncoderHead::Pool || kind == NetworkKind::DiffAE,
                 "--encoder-head {} is the semantic encoder's, for --arch diffae", to_string(a.encoder_head));
  if (kind == NetworkKind::MLP) {
    DDIM_CHECK_ARG(!data.is_image(), "--arch mlp is for vector data (toy sets); {} holds images", data.spec);
    auto o = a.mlp;
    o.dim = shape[0];
    o.embedding_dims = a.unet.embedding_dims;
    o.embedding_max_frequency = a.unet.embedding_max_frequency;
    o.dropout = a.unet.dropout;
    o.validate();
    return o.to_json();
  }
  DDIM_CHECK_ARG(data.is_image(), "--arch {} needs images; {} holds points (use --arch mlp)", a.arch,
                 data.spec);
  auto o = a.unet;
  o.channels = shape[0];
  o.image_size = shape[1];
  if (a.class_conditional) {
    o.classes =
        std::max<int64_t>(static_cast<int64_t>(data.classes.size()), data.labels.max().item<int64_t>() + 1);
    o.cond_dim = a.class_embedding_dims;
  }
  if (kind == NetworkKind::UNet) {
    o.validate();
    return o.to_json();
  }
  // The diffusion autoencoder: a semantic encoder and an AdaGN-conditioned decoder.
  DiffAEOptions d;
  o.norm = NormKind::Group;
  o.cond_dim = a.z_dim;
  d.unet = o;
  d.z_dim = a.z_dim;
  d.head = a.encoder_head;
  d.unet.validate();
  return d.to_json();
}

int run_train(TrainArgs a) {
  auto device = init_runtime();
  const auto parallel = init_parallel(a.run.dist_timeout, device);
  // Resuming, everything but the length of the run comes from the checkpoint.
  DDIM_CHECK_ARG(a.init.empty() || a.resume.empty(),
                 "--init starts a new run from a model's weights; --resume continues a run: give one");
  DDIM_CHECK_ARG(a.init.empty() || a.network_options_given.empty(),
                 "--init takes the network and the schedule from {}; drop {}", a.init,
                 fmt::join(a.network_options_given, ", "));
  // A warm start: the model's network, schedule and weights (a checkpoint's EMA, or a release).
  std::optional<Denoiser> init;
  if (!a.init.empty()) init = load_denoiser(a.init);
  const auto start = start_run(a.out, a.resume, "denoiser", parallel.primary());
  const auto source = start.data(seeded(a.data));
  spdlog::info("loading {} ({} split)", source.spec, to_string(source.options.split));
  const auto data = source.load();
  const auto validation = validation_split(source);
  a.train.seed = global_options().seed;
  const auto train = start.resuming() ? start.parse("train", DenoiserTrainOptions::from_json) : a.train;
  const auto arch = start.resuming() ? start.meta("arch")
                    : init           ? init->network().describe()
                                     : make_arch(a, data);
  const auto schedule = start.resuming() ? start.parse("schedule", ScheduleOptions::from_json)
                        : init           ? init->schedule().options()
                                         : a.schedule;
  auto run = start.run_options(a.run.options);
  run.dir = start.dir;
  run.steps = resolve_steps(a.steps, a.epochs, data.size() / (train.batch * parallel.world()),
                            start.resuming() ? run.steps : 10000);
  DenoiserTrainer trainer(arch, schedule, data, validation ? &*validation : nullptr, train, device,
                          run_meta(source, run), parallel.sync());
  if (start.resuming()) trainer.restore(start.resumed, start.checkpoint);
  if (init) trainer.warm_start(*init, a.init);
  DDIM_CHECK_ARG(start.step() <= run.steps, "{} is at step {}, beyond the requested {} steps",
                 start.checkpoint, start.step(), run.steps);
  if (parallel.primary()) open_run_dir(run.dir);
  if (parallel.world() > 1)
    spdlog::info("data-parallel over {} processes: {} examples a step, {} on each", parallel.world(),
                 train.batch * parallel.world(), train.batch);
  spdlog::info("{} {} parameters, {} examples ({} steps an epoch), {} steps{}",
               arch.at("kind").get<std::string>(), count_parameters(trainer.model()), data.size(),
               trainer.steps_per_epoch(), run.steps,
               start.resuming() ? fmt::format(", resuming at step {}", start.step())
               : init           ? fmt::format(", starting from the weights of {}", a.init)
                                : "");
  const auto result = drive_training(trainer, trainer.model(), run, start.step(), "train", parallel);
  if (result.end == RunEnd::Stopped) return report_stopped(result, "train", run.dir);
  report_finished(result, run.dir, "model");
  return 0;
}

void add_network_options(CLI::App* sub, TrainArgs& a) {
  std::vector<std::string> archs = {"auto"};
  for (const auto& n : name_table<NetworkKind>().names()) archs.push_back(n);
  sub->add_option("--arch", a.arch,
                  "Network: auto (unet for images, mlp for points), unet, mlp, or diffae (a diffusion "
                  "autoencoder: semantic encoder + conditional U-Net)")
      ->check(CLI::IsMember(archs))
      ->capture_default_str();
  sub->add_option("--z-dim", a.z_dim, "diffae: size of the semantic code z_sem")
      ->check(kPositive)
      ->capture_default_str();
  add_enum_option(sub, "--encoder-head", a.encoder_head,
                  "diffae: how the semantic encoder reads its last feature map: pool (global average "
                  "pooling, Diff-AE's: keeps colours, loses where things are) or flatten (the whole map, "
                  "spatial: sees a glyph's shape)");
  sub->add_flag("--class-conditional", a.class_conditional,
                "A class-conditional U-Net (the data's labels, or --class-attribute) for classifier-free "
                "guidance: ddim sample --class, ddim edit");
  sub->add_option("--class-embedding-dims", a.class_embedding_dims,
                  "Class-conditional: size of the class embedding")
      ->check(kPositive)
      ->capture_default_str();
  auto& u = a.unet;
  add_list_option(sub, "--widths", u.widths, "U-Net channel widths, one per resolution");
  sub->add_option("--block-depth", u.block_depth, "Residual blocks per resolution")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--embedding-dims", u.embedding_dims, "Size of the noise-variance embedding")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--embedding-max-frequency", u.embedding_max_frequency, "Highest embedding frequency")
      ->check(kPositive)
      ->capture_default_str();
  add_enum_option(sub, "--norm", u.norm, "U-Net normalisation: batch (paper) or group");
  sub->add_option("--groups", u.groups, "GroupNorm groups")->check(kPositive)->capture_default_str();
  sub->add_option("--dropout", u.dropout, "Dropout inside residual blocks")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  add_list_option(sub, "--attention", u.attention_resolutions,
                  "Self-attention at these resolutions, e.g. 16,8")
      ->default_str("");
  sub->add_option("--attention-heads", u.attention_heads, "Attention heads")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--mlp-width", a.mlp.width, "MLP hidden width (point data)")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--mlp-layers", a.mlp.layers, "MLP hidden layers (point data)")
      ->check(kPositive)
      ->capture_default_str();
}

void add_schedule_options(CLI::App* sub, ScheduleOptions& s) {
  add_enum_option(sub, "--schedule", s.kind,
                  "Noise schedule: continuous-cosine (paper), linear, quadratic, cosine");
  sub->add_option("--min-signal", s.min_signal_rate, "Continuous cosine: signal rate at t = 1")
      ->capture_default_str();
  sub->add_option("--max-signal", s.max_signal_rate, "Continuous cosine: signal rate at t = 0")
      ->capture_default_str();
  sub->add_option("--timesteps", s.timesteps, "Discrete schedules: T")
      ->check(kPositive)
      ->capture_default_str();
}

void add_optimizer_options(CLI::App* sub, TrainArgs& a) {
  auto& t = a.train;
  sub->add_option("--batch", t.batch, "Batch size")->check(kPositive)->capture_default_str();
  auto* steps =
      sub->add_option("--steps", a.steps, "Training steps (default 10000 unless --epochs)")->check(kPositive);
  sub->add_option("--epochs", a.epochs, "Train for this many passes over the data instead")
      ->check(kPositive)
      ->excludes(steps);
  sub->add_option("--lr", t.lr, "AdamW learning rate")->check(kPositive)->capture_default_str();
  sub->add_option("--weight-decay", t.weight_decay, "AdamW weight decay")
      ->check(kNonNegative)
      ->capture_default_str();
  add_enum_option(sub, "--loss", t.loss, "Loss on the noise: mae (paper) or mse");
  sub->add_option("--ema-decay", t.ema_decay, "EMA decay of weights and BatchNorm statistics")
      ->check(CLI::Range(0.0, 0.999999))
      ->capture_default_str();
  sub->add_option("--ema-warmup", t.ema_warmup,
                  "Ramp the EMA decay as (1+k)/(10+k) early on (false: the paper's fixed decay)")
      ->capture_default_str();
  sub->add_option("--warmup", t.warmup, "Linear learning-rate warm-up steps")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--grad-clip", t.grad_clip, "Clip the gradient norm (0: off)")
      ->check(kNonNegative)
      ->capture_default_str();
  add_bf16_flag(sub, t.bf16);
  sub->add_option(
         "--cond-drop", t.cond_drop,
         "Class-conditional: probability that a label is replaced by the null class in training (CFG)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--preview-samples", t.preview_samples, "Images in the sample grid")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--preview-steps", t.preview_steps, "DDIM steps for the sample grid")
      ->check(kPositive)
      ->capture_default_str();
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
      "  ddim train --init models/fashion-mnist.pt --data mnist:DIR --steps 2000 --out runs/ft\n"
      "                                                           # fine-tune a model on other data\n"
      "A run directory gets model.pt, checkpoints/, samples.png, previews/, metrics.jsonl, config.toml, "
      "log.txt.");
  add_data_options(sub, a->data);
  sub->add_option("--out", a->out, "Run directory to create");
  sub->add_option("--resume", a->resume, "Continue the run in this directory from its newest checkpoint");
  sub->add_option(
         "--init", a->init,
         "Start from this model's weights (its EMA; a checkpoint or a release) with a fresh optimiser: "
         "fine-tuning on other data, or training a released model further. The network and the "
         "schedule are the model's; the data are standardised as the model's were; the EMA starts at "
         "the model's weights (--ema-warmup is off unless given). Ease the new optimiser in with "
         "--warmup (e.g. 200)")
      ->check(CLI::ExistingFile);
  const auto before = sub->get_options().size();
  add_network_options(sub, *a);
  add_schedule_options(sub, a->schedule);
  std::vector<const CLI::Option*> network_options;
  for (auto i = before; i < sub->get_options().size(); ++i) network_options.push_back(sub->get_options()[i]);
  add_optimizer_options(sub, *a);
  add_run_options(sub, a->run, "Steps between metrics lines",
                  "Steps between sample grids (0: with checkpoints)");
  on_run(sub, [a, sub, network_options] {
    for (const auto* o : network_options)
      if (o->count() > 0) a->network_options_given.push_back(o->get_name());
    // The EMA's ramp keeps a short run from sampling with its random start; a warm start's EMA
    // starts at trained weights, which the ramp would forget at once.
    if (!a->init.empty() && sub->get_option("--ema-warmup")->count() == 0) a->train.ema_warmup = false;
    return run_train(*a);
  });
}

}  // namespace ddim::cli
