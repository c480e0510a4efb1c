// `ddim train-latent`: a latent DDIM over a diffusion autoencoder's z_sem (deep MLP with
// skips, L1), the encoder frozen (Diff-AE section 3.4).
#include "commands.h"
#include "common/common.h"
#include "common/inputs.h"
#include "common/progress.h"
#include "common/sampling_args.h"
#include "common/training_run.h"
#include "ddim/analysis/evaluation.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/embedding.h"
#include "ddim/nn/mlp.h"
#include "ddim/training/denoiser_trainer.h"

namespace ddim::cli {
namespace {

struct TrainLatentArgs {
  std::string model, out;
  DataSource data;
  MLPOptions mlp;
  DenoiserTrainOptions train;
  int64_t steps = 5000;
  int64_t batch_encode = 256;
};

int run_train_latent(TrainLatentArgs a) {
  const auto device = init_runtime();
  const auto start = start_run(a.out, "", "denoiser");
  const auto ck = load_checkpoint(a.model, "denoiser");
  auto d = denoiser_from_checkpoint(ck, a.model);
  d.to(device);
  require_autoencoder(d, a.model);
  // The model's data as the model reads it (a faces set at the model's size), padded to its shape.
  auto source = model_data(a.data, d.data());
  if (source.options.pad_to <= 0) source.options.pad_to = d.data().shape[1];
  const auto data = source.load();
  // The training images' codes, once, with the frozen (EMA) encoder.
  Dataset z;
  {
    Progress progress("encode", data.size(), "img");
    z.spec = "zsem:" + a.model;
    z.storage = semantic_codes(d, data, a.batch_encode, [&](int64_t n) { progress.update(n); });
  }
  // The latent DDIM is a denoiser of vectors: the same trainer, schedule and sampler. Its
  // statistics standardise the codes (Diff-AE section 3.4); the loss is L1 (MAE).
  a.mlp.dim = z.storage.size(1);
  a.mlp.validate();
  a.train.seed = global_options().seed;
  a.train.loss = Loss::MAE;
  a.train.preview_samples = 0;
  RunOptions run;
  run.dir = start.dir;
  run.steps = a.steps;
  run.checkpoint_every = std::max<int64_t>(1, a.steps / 5);
  run.log_every = std::max<int64_t>(1, a.steps / 50);
  auto meta = run_meta(source, run);
  meta["latent_of"] = {{"path", a.model}, {"fingerprint", denoiser_fingerprint(ck)}};
  DenoiserTrainer trainer(a.mlp.to_json(), ScheduleOptions::from_json(ck.meta.at("schedule")), z, nullptr,
                          a.train, device, meta);
  open_run_dir(run.dir);
  spdlog::info("latent DDIM: MLP of {} layers x {}, {} parameters, on {} codes of {} dims", a.mlp.layers,
               a.mlp.width, count_parameters(trainer.model()), z.size(), z.storage.size(1));
  const auto r = drive_training(trainer, trainer.model(), run, 0, "train-latent", Parallel{});
  if (r.end == RunEnd::Stopped) return report_stopped(r);
  save_tensor(run.dir + "/zsem.pt", z.storage);
  spdlog::info("latent DDIM {}/model.pt; sample with: ddim sample --model {} --latent {}/model.pt", run.dir,
               a.model, run.dir);
  return 0;
}

}  // namespace

void setup_train_latent(CLI::App& app) {
  auto t = std::make_shared<TrainLatentArgs>();
  t->mlp.width = 512;
  t->mlp.layers = 10;
  t->train.batch = 256;
  auto* tl = app.add_subcommand("train-latent",
                                "Diff-AE: train a latent DDIM over z_sem (deep MLP with skips, L1 loss)");
  tl->add_option("--model", t->model, "Diffusion autoencoder (its encoder stays frozen)")->required();
  tl->add_option("--out", t->out, "Run directory")->required();
  add_data_options(tl, t->data);
  t->data.spec = "";
  tl->get_option("--data")
      ->description("Images to encode (default: the model's training data)")
      ->default_str("");
  tl->add_option("--steps", t->steps, "Training steps")->check(kPositive)->capture_default_str();
  tl->add_option("--batch", t->train.batch, "Batch size")->check(kPositive)->capture_default_str();
  tl->add_option("--lr", t->train.lr, "AdamW learning rate")->check(kPositive)->capture_default_str();
  tl->add_option("--width", t->mlp.width, "MLP width")->check(kPositive)->capture_default_str();
  tl->add_option("--layers", t->mlp.layers, "MLP layers (Diff-AE: 10-20)")
      ->check(kPositive)
      ->capture_default_str();
  on_run(tl, [t] { return run_train_latent(*t); });
}

}  // namespace ddim::cli
