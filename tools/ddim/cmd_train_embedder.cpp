// `ddim train-embedder`: train an embedding network against a frozen denoiser (seed paper
// section 5.2), with the run machinery of `ddim train`.
#include <filesystem>

#include "commands.h"
#include "common.h"
#include "ddim/embedder_trainer.h"
#include "ddim/error.h"
#include "ddim/unet.h"
#include "progress.h"
#include "training_run.h"

namespace ddim::cli {
namespace {

struct TrainEmbedderArgs {
  std::string model, out, resume, arch = "unet", loss = "mae";
  DataArgs data;
  EmbedderTrainOptions train;
  int64_t steps = 0, epochs = 0;
  RunArgs run{500, 3, 50, 0};
};

int run_train_embedder(TrainEmbedderArgs a) {
  auto device = init_runtime();
  const auto parallel = init_parallel(a.run.dist_timeout, device);
  a.train.seed = global_options().seed;
  a.train.loss = loss_from_string(a.loss);
  Checkpoint resume_from;
  std::string resume_path;
  EmbedderOptions arch;
  DataArgs data_args = a.data;
  if (!a.resume.empty()) {
    resume_path = latest_checkpoint(a.resume);
    resume_from = load_checkpoint(resume_path, "embedder");
    const auto& m = resume_from.meta;
    arch = meta_parse(m, "arch", resume_path, EmbedderOptions::from_json);
    data_args = meta_parse(m, "data_options", resume_path, DataArgs::from_json);
    a.model = meta_get<std::string>(m, "denoiser.path", resume_path);
    const auto steps = a.steps, epochs = a.epochs;
    a.train = meta_parse(m, "train", resume_path, EmbedderTrainOptions::from_json);
    a.steps = steps > 0 ? steps : (epochs > 0 ? 0 : meta_get<int64_t>(m, "run.steps", resume_path));
    a.epochs = epochs;
    meta_parse(m, "run", resume_path, [&](const nlohmann::json& run) { return a.run.resume(run); });
    if (a.out.empty()) a.out = a.resume;
  } else {
    DDIM_CHECK_ARG(!a.model.empty(), "--model DENOISER is required (or --resume RUN)");
    DDIM_CHECK_ARG(!a.out.empty(), "--out RUN is required (or --resume RUN)");
    std::error_code ec;
    DDIM_CHECK_ARG(!parallel.primary() || !std::filesystem::exists(a.out + "/model.pt", ec),
                   "{} already holds a training run; continue it with --resume {} or choose another --out",
                   a.out, a.out);
  }
  const auto denoiser_ck = load_checkpoint(a.model, "denoiser");
  const auto ref = DenoiserRef::of(denoiser_ck, a.model);
  if (!resume_path.empty()) {
    DDIM_CHECK(
        ref.fingerprint == meta_get<std::string>(resume_from.meta, "denoiser.fingerprint", resume_path),
        "{}: the denoiser {} changed since this embedder started training", resume_path, a.model);
  }
  auto denoiser = denoiser_from_checkpoint(denoiser_ck, a.model);
  const auto& info = denoiser.data();
  DDIM_CHECK_ARG(info.is_image(), "embedders work on images; {} is a model of points", a.model);
  if (resume_path.empty()) {
    arch.arch = a.arch;
    arch.channels = info.shape[0];
    arch.image_size = info.shape[1];
    const auto& d = denoiser_ck.meta.at("arch");
    if (d.value("kind", std::string()) == "unet") {
      arch.widths = d.at("widths").get<std::vector<int64_t>>();
      arch.block_depth = d.value("block_depth", int64_t{2});
    }
    arch.validate();
  }
  if (data_args.spec.empty()) data_args.spec = info.spec;
  if (data_args.pad_to == -1) data_args.pad_to = info.shape[1];
  spdlog::info("loading {} ({} split)", data_args.spec, data_args.split);
  const auto data = data_args.load();
  std::unique_ptr<Dataset> validation;
  try {
    validation = std::make_unique<Dataset>(data_args.with_split("test").load());
  } catch (const Error&) {
  }
  const int64_t world = parallel.group ? parallel.group->world_size() : 1;
  const int64_t steps_per_epoch = std::max<int64_t>(1, data.size() / (a.train.batch * world));
  const int64_t steps = a.epochs > 0 ? a.epochs * steps_per_epoch : (a.steps > 0 ? a.steps : 2000);
  auto meta = nlohmann::json::object();
  meta["data_options"] = data_args.to_json();
  meta["run"] = a.run.to_json(steps);
  EmbedderTrainer trainer(denoiser, ref, arch, data, validation.get(), a.train, device, meta,
                          parallel.sync());
  int64_t start = 0;
  if (!resume_path.empty()) {
    trainer.restore(resume_from, resume_path);
    start = meta_get<int64_t>(resume_from.meta, "step", resume_path);
    DDIM_CHECK_ARG(start <= steps, "{} is at step {}, beyond the requested {} steps", resume_path, start,
                   steps);
  }
  if (parallel.primary()) open_run_dir(a.out);
  spdlog::info(
      "{} embedder, {} parameters; {} examples ({} steps an epoch), {} steps of batch {} through S = {}{}",
      arch.arch, count_parameters(trainer.embedder()), data.size(), trainer.steps_per_epoch(), steps,
      a.train.batch, a.train.steps, start > 0 ? fmt::format(", resuming at step {}", start) : "");
  const auto result = drive_training(trainer, trainer.embedder(), a.run.options(a.out, steps), start,
                                     "train-embedder", parallel);
  if (result.end == RunEnd::Stopped) return report_stopped(result, "train-embedder", a.out);
  spdlog::info("done: {} steps in {}; embedder {}/model.pt, preview {}/preview.png", result.step,
               format_duration(result.seconds), a.out, a.out);
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
  sub->add_option("--arch", a->arch, "Embedding network")
      ->check(CLI::IsMember(embedder_archs()))
      ->capture_default_str();
  add_data_options(sub, a->data);
  a->data.spec = "";
  sub->get_option("--data")->description("Data set (default: the denoiser's training data)")->default_str("");
  sub->add_option("--batch", a->train.batch, "Batch size")->check(kPositive)->capture_default_str();
  auto* steps =
      sub->add_option("--steps", a->steps, "Training steps (default 2000 unless --epochs)")->check(kPositive);
  sub->add_option("--epochs", a->epochs, "Train for this many passes over the data instead")
      ->check(kPositive)
      ->excludes(steps);
  sub->add_option("--lr", a->train.lr, "Adam learning rate")->check(kPositive)->capture_default_str();
  sub->add_option("--loss", a->loss, "mae (the authors') or mse, in [0, 1] pixels")
      ->check(CLI::IsMember({"mae", "mse"}))
      ->capture_default_str();
  sub->add_option("--ddim-steps", a->train.steps, "DDIM steps S of the unrolled sampler")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--checkpointing", a->train.checkpointing,
                "Per-step gradient checkpointing (memory of one step)");
  sub->add_flag("--bf16", a->train.bf16,
                "bf16 autocast for the forward pass (GPUs with bf16 tensor cores; CPUs with "
                "AVX512-BF16 or AMX, slower on other CPUs)");
  add_run_options(sub, a->run, "Steps between metrics lines (with the validation MSE)",
                  "Steps between pictures (0: with checkpoints)");
  sub->add_option("--validation-images", a->train.validation_images, "Test images of the validation MSE")
      ->check(kPositive)
      ->capture_default_str();
  on_run(sub, [a] { return run_train_embedder(*a); });
}

}  // namespace ddim::cli
