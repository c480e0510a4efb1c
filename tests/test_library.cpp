// The library's small shared pieces: enum name tables, the serialised data source and run
// options, starting and resuming runs, and the rate meter of progress bars.
#include <filesystem>

#include "ddim/core/device.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/rate.h"
#include "ddim/data/dataset.h"
#include "ddim/diffusion/ddim.h"
#include "ddim/io/checkpoint.h"
#include "ddim/methods/embedding.h"
#include "ddim/methods/interpolation.h"
#include "ddim/nn/blocks.h"
#include "ddim/nn/embedder.h"
#include "ddim/nn/loss.h"
#include "ddim/nn/network.h"
#include "ddim/training/training.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {
template <class E>
void expect_round_trip(const std::vector<std::string>& names) {
  EXPECT_EQ(name_table<E>().names(), names);
  for (const auto& n : names) EXPECT_EQ(to_string(from_string<E>(n)), n);
  try {
    from_string<E>("no-such-name");
    FAIL() << "expected a refusal";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'no-such-name'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(names.front()), std::string::npos) << msg;  // the valid names are listed
  }
}
}  // namespace

TEST(Library, EveryEnumHasOneNameTable) {
  expect_round_trip<Split>({"train", "test", "all"});
  expect_round_trip<ScheduleKind>({"continuous-cosine", "linear", "quadratic", "cosine"});
  expect_round_trip<GridEnd>({"x0", "t0"});
  expect_round_trip<InversionMethod>({"ddim", "fixed-point"});
  expect_round_trip<EpsLabel>({"target", "current"});
  expect_round_trip<Loss>({"mae", "mse"});
  expect_round_trip<Interpolation>({"lerp", "slerp"});
  expect_round_trip<NormKind>({"batch", "group"});
  expect_round_trip<Weights>({"ema", "raw"});
  expect_round_trip<Tf32>({"conv", "all", "off"});
  expect_round_trip<EmbedderArch>({"conv1", "conv3-16", "conv3-64", "conv5-128", "unet"});
  expect_round_trip<EmbedMethod>({"ddim", "fixed-point", "gradient-descent", "embedder"});
  expect_round_trip<NetworkKind>({"unet", "mlp", "diffae"});
}

TEST(Library, ADataSourceRoundTripsThroughJson) {
  DataSource s;
  s.spec = "toy:circles";
  s.options.split = Split::Test;
  s.options.limit = 7;
  s.options.toy_size = 300;
  s.options.seed = 9;
  const auto back = DataSource::from_json(s.to_json());
  EXPECT_EQ(back.to_json(), s.to_json());
  // Older checkpoints stored no seed: the default given is used.
  auto old = s.to_json();
  old.erase("seed");
  EXPECT_EQ(DataSource::from_json(old, 42).options.seed, 42u);
  EXPECT_EQ(back.load().size(), 7);
  EXPECT_THROW(DataSource::from_json({{"limit", "many"}}), InvalidArgument);
  EXPECT_THROW(DataSource::from_json({{"split", "validation"}}), InvalidArgument);
}

TEST(Library, WhetherADataSetHasATestSplitIsAValue) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/m", 4, 2);
  DataSource mnist;
  mnist.spec = "mnist:" + dir + "/m";
  EXPECT_TRUE(mnist.has_split(Split::Test));
  EXPECT_EQ(mnist.with_split(Split::Test).load().size(), 2);
  std::filesystem::create_directories(dir + "/f");
  DataSource folder;
  folder.spec = "folder:" + dir + "/f";
  EXPECT_FALSE(folder.has_split(Split::Test));
  std::filesystem::create_directories(dir + "/f/train");
  std::filesystem::create_directories(dir + "/f/test");
  EXPECT_TRUE(folder.has_split(Split::Test));
  // A set that should have a test split but whose files are missing is an error, not a `false`.
  std::filesystem::remove(dir + "/m/t10k-images-idx3-ubyte.gz");
  EXPECT_TRUE(mnist.has_split(Split::Test));
  EXPECT_THROW(mnist.with_split(Split::Test).load(), Error);
}

TEST(Library, RunOptionsRoundTripAndValidate) {
  RunOptions o;
  o.steps = 50;
  o.checkpoint_every = 7;
  o.keep = 2;
  o.log_every = 3;
  o.preview_every = 5;
  const auto back = RunOptions::from_json(o.to_json(), RunOptions{});
  EXPECT_EQ(back.to_json(), o.to_json());
  o.keep = 0;
  EXPECT_THROW(o.validate(), InvalidArgument);
  EXPECT_EQ(resolve_steps(30, 2, 100, 9), 30);
  EXPECT_EQ(resolve_steps(0, 2, 100, 9), 200);
  EXPECT_EQ(resolve_steps(0, 0, 100, 9), 9);
}

TEST(Library, StartingAndResumingARun) {
  const auto dir = scratch_dir();
  // A new run: nothing is created, and a directory that holds a run is refused.
  auto fresh = start_run(dir + "/run", "", "denoiser");
  EXPECT_FALSE(fresh.resuming());
  EXPECT_EQ(fresh.step(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/run"));
  Checkpoint ck;
  ck.meta = {{"kind", "denoiser"}, {"step", 12}, {"train", {{"seed", 5}}}};
  DataSource data;
  data.spec = "toy:gaussian";
  RunOptions run;
  run.steps = 40;
  run.checkpoint_every = 4;
  ck.meta.update(run_meta(data, run));
  save_checkpoint(dir + "/run/checkpoints/step-00000008.pt", ck);
  save_checkpoint(dir + "/run/checkpoints/step-00000012.pt", ck);
  save_checkpoint(dir + "/run/model.pt", ck);
  EXPECT_THROW(start_run(dir + "/run", "", "denoiser"), InvalidArgument);
  EXPECT_NO_THROW(start_run(dir + "/run", "", "denoiser", /*check_new=*/false));  // a non-writing rank
  // Resuming reads everything from the newest checkpoint.
  auto resumed = start_run("", dir + "/run", "denoiser");
  ASSERT_TRUE(resumed.resuming());
  EXPECT_EQ(resumed.step(), 12);
  EXPECT_EQ(resumed.run_options(RunOptions{}).checkpoint_every, 4);
  EXPECT_EQ(resumed.run_options(RunOptions{}).dir, dir + "/run");
  EXPECT_EQ(resumed.data(DataSource{}).spec, "toy:gaussian");
  EXPECT_EQ(resumed.data(DataSource{}).options.seed, 0u);  // stored with the run
  EXPECT_THROW(resumed.meta("arch"), InvalidArgument);
  EXPECT_THROW(start_run("", dir + "/run", "embedder"), Error);  // another kind
  EXPECT_THROW(start_run(dir + "/elsewhere", dir + "/run", "denoiser"), InvalidArgument);
  const auto files = run_checkpoints(dir + "/run");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].first, 8);
  EXPECT_EQ(files[1].first, 12);
}

TEST(Library, ARateMeterCountsOnlyTheWorkOfThisProcess) {
  RateMeter fresh(100);
  EXPECT_EQ(fresh.rate(), 0.0);
  EXPECT_TRUE(std::isnan(fresh.eta()));
  fresh.update(10, 5.0);
  EXPECT_DOUBLE_EQ(fresh.rate(), 2.0);
  EXPECT_DOUBLE_EQ(fresh.eta(), 45.0);
  // A run resumed at step 90: 2 steps in 2 seconds is 1 step/s, not 46.
  RateMeter resumed(100, 90);
  EXPECT_EQ(resumed.percent(), 90);
  resumed.update(92, 2.0);
  EXPECT_DOUBLE_EQ(resumed.rate(), 1.0);
  EXPECT_DOUBLE_EQ(resumed.eta(), 8.0);
}
