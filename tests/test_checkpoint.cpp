#include <filesystem>

#include "ddim/core/error.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/unet.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Checkpoint tiny_denoiser_checkpoint(std::vector<int64_t> widths) {
  UNetOptions o;
  o.widths = widths;
  UNet net(o);
  for (auto& p : net.parameters()) p.data().normal_();
  Denoiser d(std::make_shared<UNet>(net), ScheduleOptions{}, Standardizer::identity(1),
             DataInfo{"x", {1, 32, 32}});
  Checkpoint ck;
  ck.meta = d.describe();
  ck.meta["kind"] = "denoiser";
  ck.states["ema"] = module_state(net);
  ck.states["model"] = module_state(net);
  ck.blobs["optimizer"] = std::string("\x01\x02\x00\x03", 4);
  return ck;
}
}  // namespace

class CheckpointTest : public SeededTest {};

TEST_F(CheckpointTest, RoundTripRebuildsTheSameDenoiser) {
  const auto dir = scratch_dir();
  auto ck = tiny_denoiser_checkpoint({8, 16});
  save_checkpoint(dir + "/m.pt", ck);
  auto back = load_checkpoint(dir + "/m.pt", "denoiser");
  EXPECT_EQ(back.meta, ck.meta);
  EXPECT_EQ(back.blobs.at("optimizer"), ck.blobs.at("optimizer"));
  auto a = denoiser_from_checkpoint(ck, "mem");
  auto b = load_denoiser(dir + "/m.pt");
  auto x = torch::randn({2, 1, 32, 32});
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::equal(a.eps_fn()(x, Rates{0.6, 0.8}), b.eps_fn()(x, Rates{0.6, 0.8})));
  EXPECT_EQ(denoiser_fingerprint(ck), denoiser_fingerprint(back));
}

TEST_F(CheckpointTest, TruncatedFileIsRefused) {
  const auto dir = scratch_dir();
  save_checkpoint(dir + "/m.pt", tiny_denoiser_checkpoint({8, 16}));
  auto bytes = read_bytes(dir + "/m.pt");
  bytes.resize(bytes.size() * 3 / 4);
  write_bytes(dir + "/cut.pt", bytes);
  EXPECT_NE(error_of([&] { load_checkpoint(dir + "/cut.pt"); }).find("cut.pt: not a readable .pt file"),
            std::string::npos);
}

TEST_F(CheckpointTest, ForeignFilesAreNotCheckpoints) {
  const auto dir = scratch_dir();
  save_tensor(dir + "/seeds.pt", torch::randn({3}));
  EXPECT_NE(error_of([&] { load_checkpoint(dir + "/seeds.pt"); }).find("not a ddim checkpoint"),
            std::string::npos);
  write_text(dir + "/notes.pt", "not even a zip");
  EXPECT_THROW(load_checkpoint(dir + "/notes.pt"), Error);
  auto ck = tiny_denoiser_checkpoint({8, 16});
  ck.meta["kind"] = "embedder";
  save_checkpoint(dir + "/e.pt", ck);
  EXPECT_NE(error_of([&] {
              load_denoiser(dir + "/e.pt");
            }).find("is a ddim embedder checkpoint, but a denoiser is needed"),
            std::string::npos);
}

TEST_F(CheckpointTest, AnotherArchitectureIsNamed) {
  const auto dir = scratch_dir();
  auto ck = tiny_denoiser_checkpoint({8, 16});
  auto other = tiny_denoiser_checkpoint({8, 24});
  ck.states["ema"] = other.states["ema"];  // weights of a wider network under this description
  save_checkpoint(dir + "/m.pt", ck);
  const auto msg = error_of([&] { load_denoiser(dir + "/m.pt"); });
  EXPECT_NE(msg.find("made for another architecture"), std::string::npos) << msg;
  EXPECT_NE(msg.find("in the file but"), std::string::npos) << msg;
}

TEST_F(CheckpointTest, AReleasedCheckpointKeepsTheMetadataAndTheEmaWeightsOnly) {
  auto ck = tiny_denoiser_checkpoint({8, 16});
  ck.states["model"].begin()->second = ck.states["model"].begin()->second + 1;  // raw differs from EMA
  ck.states["autoencoder"] = ck.states["ema"];
  ck.states["autoencoder_raw"] = ck.states["ema"];
  const auto r = release_checkpoint(ck);
  std::vector<std::string> names;
  for (const auto& [name, state] : r.states) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"autoencoder", "ema"}));
  EXPECT_TRUE(r.blobs.empty());
  EXPECT_TRUE(r.meta.at("released").get<bool>());
  EXPECT_EQ(r.kind(), "denoiser");
  // It loads through the same validated reader and samples with the same (EMA) weights.
  const auto path = scratch_dir() + "/released.pt";
  save_checkpoint(path, r);
  const auto a = denoiser_from_checkpoint(ck, "full"),
             b = denoiser_from_checkpoint(load_checkpoint(path), path);
  for (const auto& [name, t] : module_state(b.network()))
    EXPECT_TRUE(torch::equal(t, module_state(a.network()).at(name))) << name;
  // Without an EMA there is nothing to drop: the trained weights are the model.
  Checkpoint plain;
  plain.meta["kind"] = "classifier";
  plain.states["model"] = ck.states["ema"];
  EXPECT_EQ(release_checkpoint(plain).states.count("model"), 1u);
}

TEST_F(CheckpointTest, AHalfPrecisionReleaseLoadsAsTheRoundedFp32Model) {
  auto ck = tiny_denoiser_checkpoint({8, 16});
  for (auto& [name, t] : ck.states["ema"])
    if (t.is_floating_point()) t = t + 1e-3 * torch::randn_like(t);  // values that fp16 must round
  const auto dir = scratch_dir();
  save_checkpoint(dir + "/fp32.pt", release_checkpoint(ck));
  for (const auto storage : {torch::kHalf, torch::kBFloat16}) {
    const auto r = release_checkpoint(ck, storage);
    EXPECT_EQ(r.meta.at("storage").get<std::string>(), storage == torch::kHalf ? "fp16" : "bf16");
    const auto path = dir + "/half.pt";
    save_checkpoint(path, r);
    EXPECT_LT(std::filesystem::file_size(path), std::filesystem::file_size(dir + "/fp32.pt"));
    const auto loaded = load_checkpoint(path);
    bool rounded = false;
    for (const auto& [name, t] : loaded.states.at("ema")) {
      const auto& original = ck.states.at("ema").at(name);
      EXPECT_EQ(t.scalar_type(), original.is_floating_point() ? storage : original.scalar_type()) << name;
      if (original.is_floating_point()) rounded = rounded || !torch::equal(t.to(torch::kFloat32), original);
    }
    EXPECT_TRUE(rounded);
    // The network computes in fp32 with exactly the rounded weights.
    const auto model = denoiser_from_checkpoint(loaded, path);
    for (const auto& [name, t] : module_state(model.network())) {
      const auto& original = ck.states.at("ema").at(name);
      EXPECT_EQ(t.scalar_type(), original.scalar_type()) << name;
      EXPECT_TRUE(torch::equal(
          t, original.is_floating_point() ? original.to(storage).to(original.scalar_type()) : original))
          << name;
    }
  }
  EXPECT_THROW(release_checkpoint(ck, torch::kInt8), InvalidArgument);
  // The default keeps every tensor as trained, an fp64 one too.
  Checkpoint wide;
  wide.meta["kind"] = "classifier";
  wide.states["model"]["x"] = torch::ones({2}, torch::kFloat64);
  EXPECT_EQ(release_checkpoint(wide).states.at("model").at("x").scalar_type(), torch::kFloat64);
}
