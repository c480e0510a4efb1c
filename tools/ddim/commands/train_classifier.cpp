// `ddim train-classifier`: the small CNN classifier that `ddim eval` scores samples and
// reconstructions with.
#include "commands.h"
#include "common/common.h"
#include "common/training_run.h"
#include "ddim/analysis/evaluation.h"
#include "ddim/nn/network.h"
#include "ddim/training/classifier_trainer.h"

namespace ddim::cli {
namespace {

struct TrainClassifierArgs {
  DataSource data;
  std::string out;
  ClassifierTrainOptions train;
  int64_t epochs = 5;
  int64_t log_every = 200;
};

int run_train_classifier(TrainClassifierArgs a) {
  const auto device = init_runtime();
  a.train.seed = global_options().seed;
  const auto start = start_run(a.out, "", "classifier");
  const auto source = seeded(a.data);
  const auto data = source.load();
  const auto test = validation_split(source);
  ClassifierTrainer trainer(data, test ? &*test : nullptr, a.train, device,
                            {{"data_options", source.to_json()}});
  RunOptions run;
  run.dir = start.dir;
  run.steps = a.epochs * trainer.steps_per_epoch();
  run.checkpoint_every = trainer.steps_per_epoch();
  run.log_every = a.log_every;
  open_run_dir(run.dir);
  spdlog::info("classifier, {} parameters; {} examples, {} epochs ({} steps)",
               count_parameters(trainer.network()), data.size(), a.epochs, run.steps);
  const auto result = drive_training(trainer, trainer.network(), run, 0, "train-classifier", Parallel{});
  if (result.end == RunEnd::Stopped) return report_stopped(result);
  // The accuracy on the whole test split.
  const Dataset& eval = test ? *test : data;
  const double acc = classifier_accuracy(trainer.network(), eval.all(), eval.labels);
  write_json(run.dir + "/accuracy.json",
             {{"test_accuracy", acc}, {"split", test ? "test" : "train"}, {"examples", eval.size()}});
  spdlog::info("{} accuracy {:.2f}% on {} examples; classifier {}/model.pt", test ? "test" : "train",
               100 * acc, eval.size(), run.dir);
  return 0;
}

}  // namespace

void setup_train_classifier(CLI::App& app) {
  auto t = std::make_shared<TrainClassifierArgs>();
  auto* tc = app.add_subcommand("train-classifier", "Train the small CNN classifier that ddim eval uses");
  add_data_options(tc, t->data);
  tc->add_option("--out", t->out, "Run directory")->required();
  tc->add_option("--epochs", t->epochs, "Passes over the data")->check(kPositive)->capture_default_str();
  tc->add_option("--batch", t->train.batch, "Batch size")->check(kPositive)->capture_default_str();
  tc->add_option("--lr", t->train.lr, "Adam learning rate")->check(kPositive)->capture_default_str();
  tc->add_option("--log-every", t->log_every, "Steps between metrics lines")
      ->check(kPositive)
      ->capture_default_str();
  on_run(tc, [t] { return run_train_classifier(*t); });
}

}  // namespace ddim::cli
