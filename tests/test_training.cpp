#include <cmath>
#include <filesystem>

#include "ddim/core/error.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/unet.h"
#include "ddim/training/denoiser_trainer.h"
#include "ddim/training/training.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {
// A small image set: 8x8 gray images of two kinds (a bright square or a bright bar).
Dataset tiny_images(int64_t n) {
  Dataset d;
  d.spec = "tiny";
  auto x = torch::zeros({n, 1, 8, 8}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    if (i % 2)
      x[i][0].narrow(0, 2, 4).narrow(1, 2, 4).fill_(230);
    else
      x[i][0].narrow(0, 3, 2).fill_(200);
  }
  d.storage = x;
  return d;
}

nlohmann::json tiny_unet() {
  UNetOptions o;
  o.widths = {8, 16};
  o.block_depth = 1;
  o.embedding_dims = 8;
  o.image_size = 8;
  return o.to_json();
}

DenoiserTrainOptions tiny_options() {
  DenoiserTrainOptions t;
  t.batch = 16;
  t.preview_samples = 4;
  t.preview_steps = 3;
  t.seed = 5;
  return t;
}
}  // namespace

class Training : public SeededTest {};

TEST_F(Training, LossDecreasesOnATinySet) {
  auto data = tiny_images(64);
  DenoiserTrainer trainer(tiny_unet(), ScheduleOptions{}, data, nullptr, tiny_options(), torch::kCPU);
  double first = 0, last = 0;
  for (int64_t s = 0; s < 10; ++s) first += trainer.step(s).item<double>();
  for (int64_t s = 10; s < 150; ++s) trainer.step(s);
  for (int64_t s = 150; s < 160; ++s) last += trainer.step(s).item<double>();
  EXPECT_LT(last, 0.7 * first);
}

// bf16 autocast in training: the forward pass runs in bf16, the weights, gradients and
// optimiser stay fp32, the first loss matches fp32 to bf16 precision, and the model learns.
TEST_F(Training, Bf16TrainingMatchesFp32AndLearns) {
  auto data = tiny_images(64);
  auto options = tiny_options();
  DenoiserTrainer fp32(tiny_unet(), ScheduleOptions{}, data, nullptr, options, torch::kCPU);
  options.bf16 = true;
  DenoiserTrainer bf16(tiny_unet(), ScheduleOptions{}, data, nullptr, options, torch::kCPU);
  // The head starts at zero (keras.io), so the first loss is the same in any precision; the
  // second is made by updated weights.
  double l32 = fp32.step(0).item<double>(), l16 = bf16.step(0).item<double>();
  l32 += fp32.step(1).item<double>();
  l16 += bf16.step(1).item<double>();
  EXPECT_NE(l16, l32) << "bf16 changed nothing: autocast did not run";
  EXPECT_NEAR(l16, l32, 0.02 * l32);
  for (const auto& p : bf16.model().parameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat);
    if (p.grad().defined()) {
      EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
    }
  }
  double first = l16, last = 0;
  for (int64_t s = 2; s < 10; ++s) first += bf16.step(s).item<double>();
  for (int64_t s = 10; s < 150; ++s) bf16.step(s);
  for (int64_t s = 150; s < 160; ++s) last += bf16.step(s).item<double>();
  EXPECT_LT(last, 0.7 * first);
}

TEST_F(Training, ResumedRunEqualsUninterruptedRunBitForBit) {
  const auto dir = scratch_dir();
  auto data = tiny_images(40);  // 2 steps an epoch: the data order crosses epochs
  RunOptions ro;
  ro.steps = 7;
  ro.checkpoint_every = 3;
  ro.log_every = 2;
  ro.dir = dir + "/straight";
  DenoiserTrainer a(tiny_unet(), ScheduleOptions{}, data, nullptr, tiny_options(), torch::kCPU);
  run_training(a, ro, 0);

  // The same run, stopped after its first checkpoint and resumed in a fresh trainer.
  ro.dir = dir + "/resumed";
  DenoiserTrainer b1(tiny_unet(), ScheduleOptions{}, data, nullptr, tiny_options(), torch::kCPU);
  RunCallbacks stop_at_3;
  int64_t done = 0;
  stop_at_3.on_step = [&](int64_t d, double) { done = d; };
  stop_at_3.stop_requested = [&] { return done >= 3; };
  auto r = run_training(b1, ro, 0, stop_at_3);
  ASSERT_EQ(r.end, RunEnd::Stopped);
  ASSERT_EQ(r.step, 3);
  DenoiserTrainer b2(tiny_unet(), ScheduleOptions{}, data, nullptr, tiny_options(), torch::kCPU);
  auto ck = load_checkpoint(latest_checkpoint(ro.dir));
  b2.restore(ck, "resume");
  run_training(b2, ro, ck.meta.at("step").get<int64_t>());

  auto fa = load_checkpoint(dir + "/straight/model.pt"), fb = load_checkpoint(dir + "/resumed/model.pt");
  for (const auto& state : {"model", "ema"})
    for (const auto& [name, t] : fa.states.at(state))
      EXPECT_TRUE(torch::equal(t, fb.states.at(state).at(name))) << state << " " << name;
  // (The optimizer's archive bytes embed per-process name-mangling counters, so they are not
  // compared; the steps after the resume ran with the restored optimizer state, and the
  // weights above would differ if it had not been restored exactly.)
}

// A warm start (train --init) continues from a model: its weights in both the trained and the EMA
// network, its standardisation (not the new data's), and a resume of the warm-started run keeps
// that standardisation.
TEST_F(Training, AWarmStartTakesTheModelsWeightsAndStatisticsAndResumesWithThem) {
  auto data = tiny_images(64);
  DenoiserTrainer a(tiny_unet(), ScheduleOptions{}, data, nullptr, tiny_options(), torch::kCPU);
  for (int64_t s = 0; s < 5; ++s) a.step(s);
  const auto from = a.ema_denoiser();

  // Other data (half as bright: other statistics), another seed.
  auto dim = tiny_images(64);
  dim.storage = dim.storage / 2;
  auto options = tiny_options();
  options.seed = 9;
  DenoiserTrainer b(tiny_unet(), ScheduleOptions{}, dim, nullptr, options, torch::kCPU);
  ASSERT_FALSE(torch::allclose(b.ema_denoiser().stats().mean, from.stats().mean));
  b.warm_start(from, "a.pt");
  EXPECT_TRUE(torch::equal(b.ema_denoiser().stats().mean, from.stats().mean));
  EXPECT_TRUE(torch::equal(b.ema_denoiser().stats().std, from.stats().std));
  const auto x = torch::randn({3, 1, 8, 8});
  const auto v = torch::tensor({0.1f, 0.5f, 0.9f});
  const auto eps = [&](EpsNetwork& net) {
    torch::NoGradGuard ng;
    return net.forward(x, v);
  };
  const auto expected = eps(from.network());
  EXPECT_TRUE(torch::equal(eps(b.ema_denoiser().network()), expected));
  b.model().eval();
  EXPECT_TRUE(torch::equal(eps(b.model()), expected));
  EXPECT_EQ(b.checkpoint(0).meta.at("init"), "a.pt");

  // Steps move on from there; a checkpoint resumed in a fresh trainer on the same data keeps
  // the model's statistics (a fresh trainer fits the data's).
  for (int64_t s = 0; s < 3; ++s) EXPECT_TRUE(std::isfinite(b.step(s).item<double>()));
  DenoiserTrainer c(tiny_unet(), ScheduleOptions{}, dim, nullptr, options, torch::kCPU);
  c.restore(b.checkpoint(3), "b.pt");
  EXPECT_TRUE(torch::equal(c.ema_denoiser().stats().mean, from.stats().mean));
  EXPECT_TRUE(
      torch::equal(c.ema_denoiser().network().forward(x, v), b.ema_denoiser().network().forward(x, v)));

  // A model of another network is refused, naming it.
  auto other = tiny_unet();
  other["widths"] = {8, 8};
  DenoiserTrainer d(other, ScheduleOptions{}, data, nullptr, tiny_options(), torch::kCPU);
  try {
    d.warm_start(from, "a.pt");
    FAIL() << "a model of another network was taken";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("a.pt"), std::string::npos) << e.what();
  }
}

TEST_F(Training, KeepsTheLastKCheckpointsAndWritesMetrics) {
  const auto dir = scratch_dir();
  auto data = tiny_images(32);
  DenoiserTrainer t(tiny_unet(), ScheduleOptions{}, data, nullptr, tiny_options(), torch::kCPU);
  RunOptions ro;
  ro.dir = dir;
  ro.steps = 10;
  ro.checkpoint_every = 2;
  ro.keep = 2;
  ro.log_every = 5;
  // Previews reach the caller at every checkpoint, after the checkpoint of that step is on disk
  // (a long preview interrupted must not lose the step's weights).
  RunCallbacks cb;
  std::vector<int64_t> previews;
  cb.on_preview = [&](int64_t step, const Preview& p) {
    previews.push_back(step);
    EXPECT_TRUE(file_exists(fmt::format("{}/checkpoints/step-{:08d}.pt", dir, step))) << step;
    EXPECT_EQ(p.name, "samples");
    ASSERT_EQ(p.rows.size(), 1u);
    EXPECT_EQ(p.rows[0].size(0), tiny_options().preview_samples);
    EXPECT_GE(p.rows[0].min().item<float>(), 0.0f);
    EXPECT_LE(p.rows[0].max().item<float>(), 1.0f);
  };
  run_training(t, ro, 0, cb);
  EXPECT_EQ(previews, (std::vector<int64_t>{2, 4, 6, 8, 10}));
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/checkpoints")) (void)e, ++n;
  EXPECT_EQ(n, 2);
  EXPECT_TRUE(file_exists(dir + "/checkpoints/step-00000010.pt"));
  EXPECT_TRUE(file_exists(dir + "/checkpoints/step-00000008.pt"));
  EXPECT_FALSE(file_exists(dir + "/samples.png"));  // the library draws nothing
  const auto metrics = read_text(dir + "/metrics.jsonl");
  auto last = nlohmann::json::parse(metrics.substr(metrics.rfind('{')));
  EXPECT_EQ(last["step"], 10);
  for (const auto& key : {"loss", "ema_loss", "lr", "examples_per_s", "elapsed_s"})
    EXPECT_TRUE(last.contains(key)) << key;
  EXPECT_EQ(load_checkpoint(dir + "/model.pt").meta["step"], 10);
}

namespace {
// A task whose loss turns NaN at a given step.
class FailingTask : public TrainingTask {
 public:
  explicit FailingTask(int64_t bad) : bad_(bad) {}
  torch::Tensor step(int64_t s) override { return torch::tensor(s >= bad_ ? NAN : 1.0 / (1 + s)); }
  double learning_rate(int64_t) const override { return 0.1; }
  Checkpoint checkpoint(int64_t s) const override {
    Checkpoint ck;
    ck.meta = {{"kind", "test"}, {"step", s}};
    return ck;
  }
  void restore(const Checkpoint&, const std::string&) override {}
  int64_t examples_per_step() const override { return 1; }

 private:
  int64_t bad_;
};
}  // namespace

TEST_F(Training, NonFiniteLossStopsWithoutOverwritingTheLastGoodCheckpoint) {
  const auto dir = scratch_dir();
  FailingTask task(5);
  RunOptions ro;
  ro.dir = dir;
  ro.steps = 20;
  ro.checkpoint_every = 4;
  ro.log_every = 100;
  try {
    run_training(task, ro, 0);
    FAIL() << "expected the NaN guard to stop the run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the training loss became nan"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("step-00000004.pt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_checkpoint(dir + "/model.pt").meta["step"], 4);
  EXPECT_FALSE(file_exists(dir + "/checkpoints/step-00000008.pt"));
}

TEST_F(Training, BatchLargerThanTheDataIsRefused) {
  auto data = tiny_images(8);
  EXPECT_THROW(DenoiserTrainer(tiny_unet(), ScheduleOptions{}, data, nullptr, tiny_options(), torch::kCPU),
               InvalidArgument);
}
