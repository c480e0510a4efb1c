#include "ddim/core/error.h"
#include "ddim/nn/embedder.h"
#include "ddim/nn/unet.h"
#include "ddim/training/denoiser_trainer.h"
#include "ddim/training/embedder_trainer.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

class EmbedderTest : public SeededTest {};

TEST_F(EmbedderTest, ShapesAndParameterCounts) {
  EmbedderOptions o;
  o.channels = 1;
  o.image_size = 32;
  // One channel: conv3-16 and conv3-64 have exactly the paper's Table 1 counts.
  const std::map<std::string, int64_t> counts = {
      {"conv1", 26}, {"conv3-16", 7233}, {"conv3-64", 105729}, {"conv5-128", 709377}};
  auto x = torch::rand({2, 1, 32, 32});
  for (const auto& [arch, n] : counts) {
    o.arch = from_string<EmbedderArch>(arch);
    Embedder e(o);
    EXPECT_EQ(count_parameters(e), n) << arch;
    EXPECT_EQ(e.forward(x).sizes(), x.sizes()) << arch;
  }
  // The U-Net is the denoiser's without the noise input: the first block sees 32 channels
  // instead of 32 + 32, and needs no 1x1 residual convolution.
  o.arch = EmbedderArch::UNet;
  Embedder unet(o);
  UNetOptions u;
  EXPECT_EQ(count_parameters(unet), count_parameters(UNet(u)) - 32 * 32 * 9 - (64 * 32 + 32));
  EXPECT_EQ(unet.forward(x).abs().max().item<float>(), 0.0f);  // zero-initialised output
  EXPECT_THROW(from_string<EmbedderArch>("resnet"), InvalidArgument);
}

namespace {
Dataset square_images(int64_t n) {
  Dataset d;
  d.spec = "squares";
  auto x = torch::zeros({n, 1, 8, 8}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) x[i][0].narrow(0, i % 4, 4).narrow(1, (i / 4) % 4, 4).fill_(120 + i);
  d.storage = x;
  return d;
}

Denoiser tiny_denoiser(const Dataset& data, Checkpoint* ck) {
  UNetOptions u;
  u.widths = {8, 16};
  u.block_depth = 1;
  u.embedding_dims = 8;
  u.image_size = 8;
  DenoiserTrainOptions t;
  t.batch = 16;
  t.lr = 3e-3;
  t.preview_samples = 0;
  DenoiserTrainer trainer(u.to_json(), ScheduleOptions{}, data, nullptr, t, torch::kCPU);
  for (int64_t s = 0; s < 200; ++s) trainer.step(s);
  *ck = trainer.checkpoint(200);
  return denoiser_from_checkpoint(*ck, "tiny");
}
}  // namespace

TEST_F(EmbedderTest, TrainingLowersTheLossAndReloadsExactly) {
  const auto dir = scratch_dir();
  auto data = square_images(32);
  Checkpoint dck;
  auto denoiser = tiny_denoiser(data, &dck);
  save_checkpoint(dir + "/denoiser.pt", dck);
  EmbedderOptions arch;
  arch.arch = EmbedderArch::Conv3x16;
  arch.image_size = 8;
  EmbedderTrainOptions o;
  o.batch = 16;
  o.lr = 1e-3;
  o.steps = 4;
  o.preview_images = 4;
  EmbedderTrainer trainer(denoiser, DenoiserRef::of(dck, dir + "/denoiser.pt"), arch, data, nullptr, o,
                          torch::kCPU);
  double first = 0, last = 0;
  for (int64_t s = 0; s < 5; ++s) first += trainer.step(s).item<double>();
  for (int64_t s = 5; s < 60; ++s) trainer.step(s);
  for (int64_t s = 60; s < 65; ++s) last += trainer.step(s).item<double>();
  EXPECT_LT(last, 0.8 * first);
  save_checkpoint(dir + "/embedder.pt", trainer.checkpoint(65));
  auto loaded = load_embedder(dir + "/embedder.pt", &dck, dir + "/denoiser.pt");
  auto x = data.slice(0, 4);
  torch::NoGradGuard ng;
  trainer.embedder().eval();
  EXPECT_TRUE(torch::equal(loaded.network->forward(x), trainer.embedder().forward(x)));
  EXPECT_EQ(loaded.steps, 4);
}

TEST_F(EmbedderTest, AnotherDenoiserIsRefusedUnlessForced) {
  const auto dir = scratch_dir();
  auto data = square_images(32);
  Checkpoint a, b;
  auto denoiser = tiny_denoiser(data, &a);
  torch::manual_seed(99);
  tiny_denoiser(square_images(48), &b);  // another data set: other weights
  ASSERT_NE(denoiser_fingerprint(a), denoiser_fingerprint(b));
  EmbedderOptions arch;
  arch.arch = EmbedderArch::Conv1;
  arch.image_size = 8;
  EmbedderTrainOptions o;
  o.batch = 16;
  EmbedderTrainer trainer(denoiser, DenoiserRef::of(a, "a.pt"), arch, data, nullptr, o, torch::kCPU);
  save_checkpoint(dir + "/e.pt", trainer.checkpoint(0));
  try {
    load_embedder(dir + "/e.pt", &b, "b.pt");
    FAIL() << "expected a refusal";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("was trained against the denoiser a.pt"), std::string::npos) << msg;
    EXPECT_NE(msg.find("force the pairing"), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(load_embedder(dir + "/e.pt", &b, "b.pt", /*force=*/true));
  EXPECT_NO_THROW(load_embedder(dir + "/e.pt", &a, "a.pt"));
}
