// `ddim train-embedder`: train an embedding network against a frozen denoiser (seed paper
// section 5.2), with the run machinery of `ddim train`.
#include "commands.h"
#include "common/common.h"
#include "common/sampling_args.h"
#include "common/training_run.h"
#include "ddim/core/error.h"
#include "ddim/training/embedder_trainer.h"

namespace ddim::cli {
namespace {

struct TrainEmbedderArgs {
  std::string model, out, resume;
  EmbedderArch arch = EmbedderArch::UNet;
  DataSource data;
  EmbedderTrainOptions train;
  int64_t steps = 0, epochs = 0;
  RunArgs run{{"", 0, 500, 3, 50, 0}, 300};
};

// The embedder for a denoiser: its shape, and for the U-Net embedder the denoiser's widths.
EmbedderOptions embedder_for(EmbedderArch arch, const Checkpoint& denoiser, const std::string& what,
                             const DataInfo& info) {
  EmbedderOptions o;
  o.arch = arch;
  o.channels = info.shape[0];
  o.image_size = info.shape[1];
  const auto& d = denoiser.meta.at("arch");
  if (d.value("kind", std::string()) == "unet") {
    o.widths = meta_get<std::vector<int64_t>>(denoiser.meta, "arch.widths", what);
    o.block_depth = d.value("block_depth", int64_t{2});
  }
  o.validate();
  return o;
}

int run_train_embedder(TrainEmbedderArgs a) {
  auto device = init_runtime();
  const auto parallel = init_parallel(a.run.dist_timeout, device);
  const auto start = start_run(a.out, a.resume, "embedder", parallel.primary());
  const auto model = start.resuming()
                         ? meta_get<std::string>(start.resumed.meta, "denoiser.path", start.checkpoint)
                         : a.model;
  DDIM_CHECK_ARG(!model.empty(), "--model DENOISER is required (or --resume RUN)");
  const auto denoiser_ck = load_checkpoint(model, "denoiser");
  const auto ref = DenoiserRef::of(denoiser_ck, model);
  DDIM_CHECK(!start.resuming() ||
                 ref.fingerprint ==
                     meta_get<std::string>(start.resumed.meta, "denoiser.fingerprint", start.checkpoint),
             "{}: the denoiser {} changed since this embedder started training", start.checkpoint, model);
  const auto denoiser = denoiser_from_checkpoint(denoiser_ck, model);
  const auto& info = denoiser.data();
  DDIM_CHECK_ARG(info.is_image(), "embedders work on images; {} is a model of points", model);
  auto given = seeded(a.data);
  if (given.spec.empty()) given.spec = info.spec;
  if (given.options.pad_to == -1) given.options.pad_to = info.shape[1];
  const auto source = start.data(given);
  spdlog::info("loading {} ({} split)", source.spec, to_string(source.options.split));
  const auto data = source.load();
  const auto validation = validation_split(source);
  a.train.seed = global_options().seed;
  const auto train = start.resuming() ? start.parse("train", EmbedderTrainOptions::from_json) : a.train;
  const auto arch = start.resuming() ? start.parse("arch", EmbedderOptions::from_json)
                                     : embedder_for(a.arch, denoiser_ck, model, info);
  auto run = start.run_options(a.run.options);
  run.dir = start.dir;
  run.steps = resolve_steps(a.steps, a.epochs, data.size() / (train.batch * parallel.world()),
                            start.resuming() ? run.steps : 2000);
  EmbedderTrainer trainer(denoiser, ref, arch, data, validation ? &*validation : nullptr, train, device,
                          run_meta(source, run), parallel.sync());
  if (start.resuming()) trainer.restore(start.resumed, start.checkpoint);
  DDIM_CHECK_ARG(start.step() <= run.steps, "{} is at step {}, beyond the requested {} steps",
                 start.checkpoint, start.step(), run.steps);
  if (parallel.primary()) open_run_dir(run.dir);
  spdlog::info(
      "{} embedder, {} parameters; {} examples ({} steps an epoch), {} steps of batch {} through S = {}{}",
      to_string(arch.arch), count_parameters(trainer.embedder()), data.size(), trainer.steps_per_epoch(),
      run.steps, train.batch, train.steps,
      start.resuming() ? fmt::format(", resuming at step {}", start.step()) : "");
  const auto result =
      drive_training(trainer, trainer.embedder(), run, start.step(), "train-embedder", parallel);
  if (result.end == RunEnd::Stopped) return report_stopped(result, "train-embedder", run.dir);
  report_finished(result, run.dir, "embedder");
  return 0;
}

}  // namespace

void setup_train_embedder(CLI::App& app) {
  auto a = std::make_shared<TrainEmbedderArgs>();
  auto* sub = app.add_subcommand("train-embedder",
                                 "Train an embedding network that maps images to seeds (paper Sec. 5.2)");
  sub->footer(
      "\nNetworks (Table 1): conv1, conv3-16, conv3-64, conv5-128, unet (the denoiser's U-Net\n"
      "without the noise input). Example:\n"
      "  ddim train-embedder --model runs/q/model.pt --arch unet --steps 3000 --out runs/emb");
  sub->add_option("--model", a->model, "The denoiser (frozen) to embed into");
  sub->add_option("--out", a->out, "Run directory to create");
  sub->add_option("--resume", a->resume, "Continue the run in this directory from its newest checkpoint");
  add_enum_option(sub, "--arch", a->arch, "Embedding network");
  add_data_options(sub, a->data);
  a->data.spec = "";
  sub->get_option("--data")->description("Data set (default: the denoiser's training data)")->default_str("");
  auto& t = a->train;
  sub->add_option("--batch", t.batch, "Batch size")->check(kPositive)->capture_default_str();
  auto* steps =
      sub->add_option("--steps", a->steps, "Training steps (default 2000 unless --epochs)")->check(kPositive);
  sub->add_option("--epochs", a->epochs, "Train for this many passes over the data instead")
      ->check(kPositive)
      ->excludes(steps);
  sub->add_option("--lr", t.lr, "Adam learning rate")->check(kPositive)->capture_default_str();
  add_enum_option(sub, "--loss", t.loss, "mae (the authors') or mse, in [0, 1] pixels");
  sub->add_option("--ddim-steps", t.steps, "DDIM steps S of the unrolled sampler")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--checkpointing", t.checkpointing, "Per-step gradient checkpointing (memory of one step)");
  add_bf16_flag(sub, t.bf16);
  add_run_options(sub, a->run, "Steps between metrics lines (with the validation MSE)",
                  "Steps between pictures (0: with checkpoints)");
  sub->add_option("--validation-images", t.validation_images, "Test images of the validation MSE")
      ->check(kPositive)
      ->capture_default_str();
  on_run(sub, [a] { return run_train_embedder(*a); });
}

}  // namespace ddim::cli
