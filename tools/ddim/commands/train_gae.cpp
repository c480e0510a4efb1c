// `ddim train-gae`: DiffuseGAE's (Leng et al. 2023) group-supervised autoencoder on a Diff-AE's
// z_sem, post hoc (eq. 11) or fine-tuned jointly with the Diff-AE (eq. 12).
#include <optional>

#include "commands.h"
#include "common/common.h"
#include "common/gae_args.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "common/training_run.h"
#include "ddim/core/error.h"
#include "ddim/training/gae_trainer.h"

namespace ddim::cli {
namespace {

struct TrainGaeArgs {
  std::string model, out, resume, partition;
  DataSource data;
  GaeOptions arch;
  int64_t z_dis = 0;  // 0: z_sem's size
  GaeTrainOptions train;
  int64_t steps = 0, epochs = 0, encode_batch = 256;
  RunArgs run{{"", 0, 1000, 3, 100, 0}, 300};
};

// Where a run starts: the Diff-AE (and, fine-tuning, the trained GAE), the partition and the
// architecture, from the resumed checkpoint, a GAE checkpoint or a Diff-AE checkpoint.
struct Origin {
  Denoiser autoencoder;
  DataSource data;  // what it trained on, the default data
  AutoencoderRef ref;
  std::optional<GaeModel> trained;  // fine-tuning a post hoc GAE
  std::optional<Partition> partition;
  std::optional<GaeOptions> arch;
};

Origin load_origin(const TrainGaeArgs& a, const RunStart& start) {
  if (start.resuming()) {
    auto m = gae_from_checkpoint(start.resumed, start.checkpoint);
    return {m.autoencoder,
            start.data(seeded(a.data)),
            AutoencoderRef::from_json(start.meta("autoencoder")),
            std::nullopt,
            m.partition,
            m.gae->options()};
  }
  DDIM_CHECK_ARG(!a.model.empty(),
                 "give the Diff-AE (or, to fine-tune, the GAE) to start from, or a run to resume");
  const auto ck = load_checkpoint(a.model);
  if (ck.kind() == "gae") {
    DDIM_CHECK_ARG(a.train.finetune, "{} is a trained GAE: fine-tune it (with the Diff-AE) or resume its run",
                   a.model);
    DDIM_CHECK_ARG(a.partition.empty(), "{} has its partition {}", a.model,
                   Partition::from_json(ck.meta.at("partition")).to_string());
    auto m = gae_from_checkpoint(ck, a.model);
    return {m.autoencoder,   seeded(resolve_data(ck, a.data, m.denoiser.data())), m.reference, m, m.partition,
            m.gae->options()};
  }
  DDIM_CHECK_ARG(
      !a.train.finetune,
      "fine-tuning (eq. 12) starts from a trained GAE: train one post hoc on {} first, then fine-tune its "
      "model.pt",
      a.model);
  auto d = denoiser_from_checkpoint(ck, a.model);
  DDIM_CHECK_ARG(d.network().conditioning() == Conditioning::Semantic,
                 "{} is not a diffusion autoencoder (train one with ddim train --arch diffae)", a.model);
  DDIM_CHECK_ARG(!a.partition.empty(), "a GAE needs a partition of z_dis among the data's attributes");
  return {d,
          seeded(resolve_data(ck, a.data, d.data())),
          {a.model, denoiser_fingerprint(ck), ck.meta.value("step", int64_t{0}), false},
          std::nullopt,
          std::nullopt,
          std::nullopt};
}

int run_train_gae(TrainGaeArgs a) {
  auto device = init_runtime();
  const auto parallel = init_parallel(a.run.dist_timeout, device);
  const auto start = start_run(a.out, a.resume, "gae", parallel.primary());
  const auto origin = load_origin(a, start);
  const auto& ae = origin.autoencoder;
  auto source = origin.data;
  if (source.options.pad_to == -1) source.options.pad_to = ae.data().shape[1];
  spdlog::info("loading {} ({} split)", source.spec, to_string(source.options.split));
  const auto data = source.load();
  const int64_t z_sem = ae.network().cond_dim();
  const auto partition = origin.partition ? *origin.partition
                                          : Partition::parse(a.partition, attribute_names(data.attributes),
                                                             a.z_dis > 0 ? a.z_dis : z_sem);
  auto arch = a.arch;
  arch.z_dim = z_sem;
  arch.dis_dim = partition.dim();
  if (origin.arch) arch = *origin.arch;
  a.train.seed = global_options().seed;
  const auto train = start.resuming() ? GaeTrainOptions::from_json(start.meta("train")) : a.train;
  // Validation uses a few groups: the test split's first 2048 examples give them members.
  std::optional<Dataset> validation;
  if (source.has_split(Split::Test)) {
    auto v = source.with_split(Split::Test);
    v.options.limit = v.options.limit > 0 ? std::min<int64_t>(v.options.limit, 2048) : 2048;
    validation = v.load();
  }
  auto encode = [&](const Dataset& d, const char* what) {
    Progress progress(what, d.size(), "img", parallel.primary());
    auto g = gae_data(ae, d, !train.finetune, a.encode_batch, [&](int64_t n) { progress.update(n); });
    progress.finish();
    return g;
  };
  const auto train_data = encode(data, "encode");
  const auto valid_data =
      validation ? std::optional<GaeData>(encode(*validation, "encode test")) : std::nullopt;
  auto run = start.run_options(a.run.options);
  run.dir = start.dir;
  run.steps = resolve_steps(a.steps, a.epochs, data.size() / (train.batch * parallel.world()),
                            start.resuming() ? run.steps : 2000);
  GaeTrainer trainer(ae, origin.ref, partition, arch, train_data, valid_data ? &*valid_data : nullptr, train,
                     device, run_meta(source, run), parallel.sync());
  if (start.resuming()) trainer.restore(start.resumed, start.checkpoint);
  if (origin.trained) trainer.initialise_from(*origin.trained);
  DDIM_CHECK_ARG(start.step() <= run.steps, "{} is at step {}, beyond the requested {} steps",
                 start.checkpoint, start.step(), run.steps);
  if (parallel.primary()) open_run_dir(run.dir);
  spdlog::info(
      "GAE {} ({} parameters), z_sem {} -> z_dis {}; {} on {} groups a step of {} examples, {} steps{}",
      partition.to_string(), count_parameters(trainer.gae()), z_sem, partition.dim(),
      train.finetune ? "fine-tuning with the Diff-AE (eq. 12)" : "post hoc (eq. 11)", train.batch,
      data.size(), run.steps, start.resuming() ? fmt::format(", resuming at step {}", start.step()) : "");
  const auto result = drive_training(trainer, trainer.trainable(), run, start.step(), "train-gae", parallel);
  if (result.end == RunEnd::Stopped) return report_stopped(result, "train-gae", run.dir);
  report_finished(result, run.dir, "DiffuseGAE");
  return 0;
}

void add_architecture_options(CLI::App* sub, TrainGaeArgs& a) {
  sub->add_option("--width", a.arch.width, "GAE hidden width")->check(kPositive)->capture_default_str();
  sub->add_option("--mlp-blocks", a.arch.mlp_blocks, "MLP blocks in encoder and decoder")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--bottleneck-blocks", a.arch.bottleneck_blocks, "Bottleneck blocks after them")
      ->check(kNonNegative)
      ->capture_default_str();
}

}  // namespace

void setup_train_gae(CLI::App& app) {
  auto a = std::make_shared<TrainGaeArgs>();
  auto* sub = app.add_subcommand(
      "train-gae", "DiffuseGAE: train a group-supervised autoencoder on a Diff-AE's z_sem (Sec. 3.3)");
  sub->footer(
      "\nPost hoc (eq. 11; the Diff-AE frozen), then fine-tuned jointly with the Diff-AE (eq. 12):\n"
      "  ddim train-gae --model runs/ae/model.pt --data fonts --limit 20000 \\\n"
      "      --partition letter:24,font:16,font_colour:8,background_colour:8,size:8 --out runs/gae\n"
      "  ddim train-gae --model runs/gae/model.pt --finetune --steps 500 --out runs/gae-ft\n"
      "Parts are the data's attributes (ddim data info lists them) or rest; their sizes add up to\n"
      "z_dis (--z-dis, default z_sem's size); names alone split it equally.");
  sub->add_option("--model", a->model, "The Diff-AE to start from (with --finetune: a trained GAE)");
  sub->add_option("--out", a->out, "Run directory to create");
  sub->add_option("--resume", a->resume, "Continue the run in this directory from its newest checkpoint");
  sub->add_option("--partition", a->partition, "Parts of z_dis: NAME:SIZE,... (data attributes, or rest)");
  sub->add_option("--z-dis", a->z_dis, "Size of z_dis (default: z_sem's)")->check(kPositive);
  sub->add_flag("--finetune", a->train.finetune, "Train a GAE jointly with its Diff-AE (eq. 12)");
  add_data_options(sub, a->data);
  a->data.spec = "";
  sub->get_option("--data")
      ->description("Data set with attributes (default: the Diff-AE's)")
      ->default_str("");
  auto& t = a->train;
  auto* batch =
      sub->add_option("--batch", t.batch, "GROUP centres a step (default 256 post hoc, 16 fine-tuning)")
          ->check(kPositive);
  auto* steps =
      sub->add_option("--steps", a->steps, "Training steps (default 2000 unless --epochs)")->check(kPositive);
  sub->add_option("--epochs", a->epochs, "Train for this many passes over the data instead")
      ->check(kPositive)
      ->excludes(steps);
  auto* lr = sub->add_option("--lr", t.lr, "Adam learning rate (default 1e-3 post hoc, 1e-4 fine-tuning)")
                 ->check(kPositive);
  auto* lss = sub->add_option("--lambda-ss", t.weights.lambda_ss,
                              "Weight of L_ss (default 1.0 post hoc, 0.5 fine-tuning)")
                  ->check(kNonNegative);
  sub->add_option("--lambda-ur", t.weights.lambda_ur, "Weight of L_ur")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--gamma", t.gamma, "Fine-tuning: weight of L_dis beside L_simple (eq. 12)")
      ->check(kNonNegative)
      ->capture_default_str();
  add_enum_option(sub, "--loss", t.loss, "Distance of every loss: mae or mse");
  add_architecture_options(sub, *a);
  sub->add_option("--encode-batch", a->encode_batch, "Images a batch when encoding the data")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--preview-images", t.preview_images, "Images in the swap preview")
      ->check(kNonNegative)
      ->capture_default_str();
  add_bf16_flag(sub, t.bf16);
  add_run_options(sub, a->run, "Steps between metrics lines (with the validation losses)",
                  "Steps between swap previews (0: with checkpoints)");
  on_run(sub, [a, batch, lr, lss] {
    // The paper's settings differ between the two phases; given values win.
    if (!batch->count()) a->train.batch = a->train.finetune ? 16 : 256;
    if (!lr->count()) a->train.lr = a->train.finetune ? 1e-4 : 1e-3;
    if (!lss->count()) a->train.weights.lambda_ss = a->train.finetune ? 0.5 : 1.0;
    return run_train_gae(*a);
  });
}

}  // namespace ddim::cli
