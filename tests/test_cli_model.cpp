// The model commands through the real binary: train, resume, info, export, schedule,
// sample, invert, reconstruct, interpolate.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "ddim/core/rng.h"
#include "ddim/data/counterfactual.h"
#include "ddim/data/dataset.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/checkpoint.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "ddim/nn/classifier.h"
#include "ddim/nn/prepared_unet.h"
#include "ddim/nn/winograd.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

std::vector<std::string> train_args(const std::string& data, const std::string& out, int64_t steps) {
  std::vector<std::string> a = {"train", "--data",  "mnist:" + data,      "--out",
                                out,     "--steps", std::to_string(steps)};
  auto tiny = tiny_unet_args();
  a.insert(a.end(), tiny.begin(), tiny.end());
  return a;
}

// A tiny trained model in `dir`/run (fixture data in `dir`/mnist).
std::string tiny_model(const std::string& dir, int64_t steps = 4) {
  write_mnist_fixture(dir + "/mnist", 32, 8);
  auto r = run_ddim(train_args(dir + "/mnist", dir + "/run", steps));
  EXPECT_EQ(r.status, 0) << r.err;
  return dir + "/run/model.pt";
}

void expect_same_states(const std::string& a, const std::string& b) {
  auto ca = load_checkpoint(a), cb = load_checkpoint(b);
  EXPECT_EQ(ca.meta["step"], cb.meta["step"]);
  for (const auto& state : {"model", "ema"})
    for (const auto& [name, t] : ca.states.at(state))
      EXPECT_TRUE(torch::equal(t, cb.states.at(state).at(name))) << state << "/" << name;
  // The steps after the resume used the restored optimizer; equal weights show it was exact
  // (its archive bytes embed per-process name-mangling counters and are not compared).
}

}  // namespace

TEST(CliModel, TrainWritesARunDirectoryThatDescribesItself) {
  const auto dir = scratch_dir();
  const auto model = tiny_model(dir);
  for (const auto& f : {"model.pt", "config.toml", "log.txt", "metrics.jsonl", "samples.png",
                        "previews/samples-step-00000004.png", "checkpoints/step-00000004.pt"})
    EXPECT_TRUE(file_exists(dir + "/run/" + f)) << f;
  EXPECT_NE(read_text(dir + "/run/config.toml").find("widths = [8, 16]"), std::string::npos)
      << read_text(dir + "/run/config.toml");
  auto r = run_ddim({"info", model});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("denoiser"), std::string::npos);
  EXPECT_NE(r.out.find("U-Net, widths [8,16]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("continuous-cosine"), std::string::npos);
  // How inference without gradients runs it: the prepared form, with Winograd's convolutions
  // where this CPU runs them.
  if (prepared_inference_built()) {
    EXPECT_NE(r.out.find("the prepared form on the CPU"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("Winograd") != std::string::npos, !winograd_simd_levels().empty()) << r.out;
  }
  r = run_ddim({"info", model, "--json"});
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["meta"]["step"], 4);
  EXPECT_EQ(j["meta"]["data"]["shape"], (std::vector<int64_t>{1, 32, 32}));
  EXPECT_GT(j["meta"]["parameters"].get<int64_t>(), 1000);
  // A second run into the same directory would overwrite it: refused.
  r = run_ddim(train_args(dir + "/mnist", dir + "/run", 2));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(last_line(r.err).find("already holds a training run"), std::string::npos) << r.err;
}

TEST(CliModel, ResumedRunEndsWithTheSameBits) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/mnist", 32, 8);
  ASSERT_EQ(run_ddim(train_args(dir + "/mnist", dir + "/straight", 6)).status, 0);
  ASSERT_EQ(run_ddim(train_args(dir + "/mnist", dir + "/resumed", 3)).status, 0);
  auto r = run_ddim({"train", "--resume", dir + "/resumed", "--steps", "6", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  expect_same_states(dir + "/straight/model.pt", dir + "/resumed/model.pt");
}

// `train --init`: a new run from a model's weights, whose network and schedule it takes.
TEST(CliModel, InitStartsANewRunFromAModelsWeights) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  write_mnist_fixture(dir + "/mnist", 32, 8);
  ASSERT_EQ(run_ddim({"export", "--release", "--model", model, "--out", dir + "/release.pt"}).status, 0);
  // No step at all would be refused; one step at a learning rate of almost zero leaves the weights
  // as they were, up to AdamW's one tiny update.
  auto r = run_ddim({"train", "--data", "mnist:" + dir + "/mnist", "--init", dir + "/release.pt", "--steps",
                     "1", "--batch", "8", "--lr", "1e-12", "--weight-decay", "0", "--preview-samples", "0",
                     "--out", dir + "/ft", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("starting from the weights of"), std::string::npos) << r.err;
  const auto a = load_denoiser(dir + "/release.pt"), b = load_denoiser(dir + "/ft/model.pt");
  EXPECT_EQ(a.network().describe(), b.network().describe());
  torch::NoGradGuard ng;
  const auto x = torch::randn({2, 1, 32, 32});
  const auto v = torch::tensor({0.3f, 0.9f});
  const auto ea = a.network().forward(x, v), eb = b.network().forward(x, v);
  EXPECT_LT((ea - eb).abs().max().item<double>(), 1e-4 * ea.abs().max().item<double>() + 1e-6);
  const auto ck = load_checkpoint(dir + "/ft/model.pt");
  EXPECT_EQ(ck.meta.at("init"), dir + "/release.pt");
  EXPECT_FALSE(ck.meta.at("train").at("ema_warmup").get<bool>());  // off for a warm start unless given

  // The network comes from the model: a network option, or --resume beside it, is refused.
  r = run_ddim({"train", "--data", "mnist:" + dir + "/mnist", "--init", dir + "/release.pt", "--widths",
                "8,16", "--out", dir + "/bad"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("drop --widths"), std::string::npos) << r.err;
  r = run_ddim({"train", "--init", dir + "/release.pt", "--resume", dir + "/ft"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  EXPECT_FALSE(file_exists(dir + "/bad"));
}

TEST(CliModel, SigintSavesACheckpointAndTheRunResumes) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/mnist", 32, 8);
  auto args = train_args(dir + "/mnist", dir + "/run", 100000);
  const int pid = spawn_ddim(args, dir + "/train");
  // Wait until training has started (the first metrics line), then interrupt.
  for (int i = 0; i < 600 && read_text(dir + "/run/metrics.jsonl").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_ddim(pid), 130);
  const auto err = read_text(dir + "/train.err");
  EXPECT_NE(err.find("continue with: ddim train --resume"), std::string::npos) << err;
  auto ck = load_checkpoint(dir + "/run/model.pt");
  const int64_t step = ck.meta["step"].get<int64_t>();
  EXPECT_GT(step, 0);
  auto r =
      run_ddim({"train", "--resume", dir + "/run", "--steps", std::to_string(step + 2), "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load_checkpoint(dir + "/run/model.pt").meta["step"], step + 2);
}

TEST(CliModel, BadCheckpointsGetOneClearLine) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  auto bytes = read_bytes(model);
  bytes.resize(bytes.size() / 2);
  write_bytes(dir + "/cut.pt", bytes);
  save_tensor(dir + "/seeds.pt", torch::randn({2, 1, 32, 32}));
  write_text(dir + "/text.pt", "hello");
  for (const auto& [file, message] : std::vector<std::pair<std::string, std::string>>{
           {dir + "/cut.pt", "cut.pt: not a readable .pt file"},
           {dir + "/seeds.pt", "seeds.pt: not a ddim checkpoint"},
           {dir + "/text.pt", "text.pt: not a readable .pt file"},
           {dir + "/missing.pt", "missing.pt: no such file"}}) {
    for (const auto& cmd : {std::vector<std::string>{"info", file},
                            std::vector<std::string>{"sample", "--model", file, "--out", dir + "/s"}}) {
      auto r = run_ddim(cmd);
      EXPECT_EQ(r.status, 1) << file;
      EXPECT_NE(last_line(r.err).find(message), std::string::npos) << r.err;
    }
  }
  EXPECT_FALSE(file_exists(dir + "/s/samples.pt"));
}

TEST(CliModel, NonFiniteLossStopsTrainingWithAClearMessage) {
  const auto dir = scratch_dir();
  auto r = run_ddim({"train", "--data", "toy:gaussian", "--toy-size", "256", "--lr", "1e30", "--steps", "50",
                     "--log-every", "5", "--checkpoint-every", "1000", "--out", dir + "/run"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(last_line(r.err).find("the training loss became nan"), std::string::npos) << r.err;
  EXPECT_FALSE(file_exists(dir + "/run/model.pt"));  // nothing bad was saved
}

TEST(CliModel, SampleIsReproducibleAndTakesSeedFiles) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  auto r =
      run_ddim({"sample", "--model", model, "--n", "5", "--steps", "3", "--seed", "7", "--out", dir + "/a"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(
      run_ddim({"sample", "--model", model, "--n", "5", "--steps", "3", "--seed", "7", "--out", dir + "/b"})
          .status,
      0);
  auto a = load_tensor(dir + "/a/samples.pt");
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{5, 1, 28, 28}));  // padding cropped
  EXPECT_EQ(load_tensor(dir + "/a/seeds.pt").sizes(), (std::vector<int64_t>{5, 1, 32, 32}));
  EXPECT_TRUE(torch::equal(a, load_tensor(dir + "/b/samples.pt")));
  EXPECT_GE(a.min().item<float>(), 0.0f);
  EXPECT_LE(a.max().item<float>(), 1.0f);
  EXPECT_TRUE(file_exists(dir + "/a/samples.png"));
  // The saved seeds generate the same samples.
  r = run_ddim(
      {"sample", "--model", model, "--seeds-in", dir + "/a/seeds.pt", "--steps", "3", "--out", dir + "/c"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::equal(a, load_tensor(dir + "/c/samples.pt")));
  // --bf16: the same seeds give nearly the same samples, and the same bits twice.
  for (const auto* out : {"/h1", "/h2"}) {
    r = run_ddim({"sample", "--model", model, "--n", "5", "--steps", "3", "--seed", "7", "--bf16", "--out",
                  dir + out});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  auto h = load_tensor(dir + "/h1/samples.pt");
  EXPECT_TRUE(torch::equal(h, load_tensor(dir + "/h2/samples.pt")));
  EXPECT_FALSE(torch::equal(h, a));
  EXPECT_LT((h - a).abs().mean().item<float>(), 0.02);
  EXPECT_NE(read_text(dir + "/h1/config.toml").find("bf16 = true"), std::string::npos);
  // Seeds of another shape are refused, naming the file.
  save_tensor(dir + "/wrong.pt", torch::randn({2, 3, 32, 32}));
  r = run_ddim({"sample", "--model", model, "--seeds-in", dir + "/wrong.pt", "--out", dir + "/d"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(last_line(r.err).find("wrong.pt: seeds of shape 2x3x32x32 do not fit this model"),
            std::string::npos)
      << r.err;
}

TEST(CliModel, ReconstructWritesMetricsAndTheFigure) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  auto r = run_ddim({"reconstruct", "--model", model, "--limit", "3", "--steps", "4", "--out", dir + "/rec"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(read_text(dir + "/rec/metrics.json"));
  EXPECT_EQ(j["per_image"].size(), 3u);
  for (const auto& k : {"mse", "psnr", "ssim"}) EXPECT_TRUE(j["mean"].contains(k));
  EXPECT_EQ(j["method"], "ddim");
  EXPECT_TRUE(file_exists(dir + "/rec/reconstruction.png"));
  EXPECT_EQ(load_tensor(dir + "/rec/reconstructions.pt").sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  // Files of other sizes and channel counts are fitted to the model.
  write_png(dir + "/gray28.png", torch::rand({1, 28, 28}));
  write_png(dir + "/rgb40.png", torch::rand({3, 40, 50}));
  r = run_ddim({"reconstruct", "--model", model, "--images", dir + "/gray28.png", dir + "/rgb40.png",
                "--method", "fixed-point", "--iters", "2", "--steps", "3", "--out", dir + "/files"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir + "/files/metrics.json"))["per_image"].size(), 2u);
  // A corrupt image is refused with its name.
  write_text(dir + "/bad.png", "\x89PNG\r\n\x1a\nxxxx");
  r = run_ddim({"reconstruct", "--model", model, "--images", dir + "/bad.png", "--out", dir + "/bad"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(last_line(r.err).find("bad.png"), std::string::npos) << r.err;
}

TEST(CliModel, InvertAndInterpolate) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  auto r = run_ddim({"invert", "--model", model, "--limit", "4", "--steps", "3", "--out", dir + "/inv"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load_tensor(dir + "/inv/seeds.pt").sizes(), (std::vector<int64_t>{4, 1, 32, 32}));
  EXPECT_TRUE(file_exists(dir + "/inv/seeds.png"));
  r = run_ddim({"interpolate", "--model", model, "--from", "0", "--to", "1", "--frames", "5", "--steps", "3",
                "--mode", "slerp", "--out", dir + "/strip.png"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(file_exists(dir + "/strip.png"));
  EXPECT_EQ(load_tensor(dir + "/strip.pt").size(0), 5);
  auto j = nlohmann::json::parse(read_text(dir + "/strip.json"));
  EXPECT_EQ(j["frame_to_frame_mse"].size(), 4u);
  EXPECT_EQ(j["per_image"].size(), 2u);
}

TEST(CliModel, SynthesizeAndAnalyseTheCloud) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  auto r = run_ddim({"synthesize", "--model", model, "--limit", "2", "--seeds-per-image", "3", "--iters", "4",
                     "--steps", "3", "--checkpointing", "--out", dir + "/syn"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load_tensor(dir + "/syn/seeds.pt").sizes(), (std::vector<int64_t>{2, 3, 1, 32, 32}));
  auto j = nlohmann::json::parse(read_text(dir + "/syn/metrics.json"));
  EXPECT_EQ(j["per_image"].size(), 6u);
  EXPECT_EQ(j["per_image"][4]["image"], 1);
  EXPECT_EQ(j["per_image"][4]["seed"], 1);
  // One metrics line per iteration.
  const auto lines = read_text(dir + "/syn/metrics.jsonl");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 4);
  EXPECT_TRUE(file_exists(dir + "/syn/synthesis.png"));
  // In bf16 the seeds descend nearly the same path.
  r = run_ddim({"synthesize", "--model", model, "--limit", "2", "--seeds-per-image", "3", "--iters", "4",
                "--steps", "3", "--bf16", "--out", dir + "/syn16"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto z32 = load_tensor(dir + "/syn/seeds.pt"), z16 = load_tensor(dir + "/syn16/seeds.pt");
  EXPECT_FALSE(torch::equal(z16, z32));
  EXPECT_LT(((z16 - z32).norm() / z32.norm()).item<double>(), 0.02);
  r = run_ddim({"cloud", "--model", model, "--cloud", dir + "/syn/seeds.pt", "--combinations", "5", "--steps",
                "3", "--out", dir + "/cloud"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto c = nlohmann::json::parse(read_text(dir + "/cloud/cloud.json"));
  ASSERT_EQ(c["images"].size(), 2u);
  for (const auto& k :
       {"pairwise_distance_per_pixel", "mean_seed_mse", "progressive_mse", "convex_mse", "eigenvalues"})
    EXPECT_TRUE(c["images"][0].contains(k)) << k;
  EXPECT_EQ(c["images"][0]["progressive_mse"].size(), 3u);
  EXPECT_EQ(c["images"][0]["eigenvalues"].size(), 2u);
  for (const auto& f : {"eigenvalues.png", "eigenvalues.csv", "image000-averaging.png",
                        "image000-combinations.png", "image001-components.png"})
    EXPECT_TRUE(file_exists(dir + "/cloud/" + f)) << f;
  // Refinement from seeds of the wrong count is refused.
  save_tensor(dir + "/few.pt", torch::randn({5, 1, 32, 32}));
  r = run_ddim({"synthesize", "--model", model, "--limit", "2", "--seeds-per-image", "3", "--init",
                dir + "/few.pt", "--out", dir + "/bad"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(last_line(r.err).find("few.pt: holds 5 seeds, but 2 images x 3 seeds per image are needed"),
            std::string::npos)
      << r.err;
}

TEST(CliModel, TrainEmbedderEmbedAndReconstructWithIt) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  auto r =
      run_ddim({"train-embedder", "--model", model, "--arch", "conv3-16", "--batch", "8", "--steps", "3",
                "--ddim-steps", "2", "--log-every", "1", "--validation-images", "4", "--out", dir + "/emb"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(file_exists(dir + "/emb/preview.png"));
  const auto metrics = read_text(dir + "/emb/metrics.jsonl");
  EXPECT_NE(metrics.find("valid_mse"), std::string::npos);
  r = run_ddim({"info", dir + "/emb/model.pt"});
  EXPECT_NE(r.out.find("embedder"), std::string::npos);
  EXPECT_NE(r.out.find("7,233"), std::string::npos) << r.out;
  // The embedder refined by gradient descent (Fig. 18): the refinement lowers the error.
  r = run_ddim({"reconstruct", "--model", model, "--embedder", dir + "/emb/model.pt", "--limit", "3",
                "--steps", "2", "--refine", "20", "--out", dir + "/e"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(read_text(dir + "/e/metrics.json"));
  EXPECT_EQ(j["method"], "embedder");
  EXPECT_EQ(j["refine"], 20);
  EXPECT_LT(j["mean"]["mse"].get<double>(), j["before_refinement"]["mse"].get<double>());
  EXPECT_GT(j["seconds_per_image_refine"].get<double>(), 0.0);
  EXPECT_TRUE(file_exists(dir + "/e/reconstruction.png"));
  r = run_ddim({"invert", "--model", model, "--embedder", dir + "/emb/model.pt", "--limit", "2", "--steps",
                "2", "--out", dir + "/inv"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir + "/inv/invert.json"))["method"], "embedder");
  // Paired with another denoiser: refused, naming both, unless forced.
  write_mnist_fixture(dir + "/mnist", 32, 8);
  ASSERT_EQ(run_ddim(train_args(dir + "/mnist", dir + "/other", 2)).status, 0);
  r = run_ddim({"reconstruct", "--model", dir + "/other/model.pt", "--embedder", dir + "/emb/model.pt",
                "--limit", "2", "--out", dir + "/bad"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(last_line(r.err).find("was trained against the denoiser"), std::string::npos) << r.err;
  r = run_ddim({"reconstruct", "--model", dir + "/other/model.pt", "--embedder", dir + "/emb/model.pt",
                "--limit", "2", "--steps", "2", "--force", "--out", dir + "/forced"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(CliModel, AnalyzeIndependenceAndInversion) {
  const auto dir = scratch_dir();
  const auto a = shared_tiny_model();
  const auto run = std::filesystem::path(a).parent_path().string();
  write_mnist_fixture(dir + "/mnist", 32, 8);
  ASSERT_EQ(run_ddim(train_args(dir + "/mnist", dir + "/b", 3)).status, 0);
  auto r = run_ddim({"analyze", "independence", "--model", a, "--model", dir + "/b/model.pt", "--n", "6",
                     "--steps", "3", "--out", dir + "/ind"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(read_text(dir + "/ind/independence.json"));
  {
    // The JSON's numbers are those of the two models' samples of the same seeds (the tool's
    // --seed 0), generated here: same seed across the models, neighbouring seeds within model a.
    const auto da = load_denoiser(a), db = load_denoiser(dir + "/b/model.pt");
    auto gen = make_generator(0);
    const auto seeds = randn({6, 1, 32, 32}, gen);
    const auto ia = da.data().crop(generate(da, seeds, make_time_grid(da.schedule(), 3), {}, 6));
    const auto ib = db.data().crop(generate(db, seeds, make_time_grid(db.schedule(), 3), {}, 6));
    const double same = (ia - ib).pow(2).mean().item<double>();
    const double random = (ia - ia.roll(1, 0)).pow(2).mean().item<double>();
    EXPECT_NEAR(j["same_seed_mse"].get<double>(), same, 1e-6 * same);
    EXPECT_NEAR(j["random_pairs_mse"].get<double>(), random, 1e-6 * random);
    EXPECT_NEAR(j["ratio"].get<double>(), random / same, 1e-5 * random / same);
  }
  EXPECT_TRUE(file_exists(dir + "/ind/independence.png"));
  r = run_ddim({"analyze", "independence", "--model", a, "--out", dir + "/one"});
  EXPECT_EQ(r.status, 2);  // needs two models
  r = run_ddim({"analyze", "inversion", "--model", a, "--n", "12", "--steps", "2,3", "--lambdas", "5",
                "--checkpoints", run, "--out", dir + "/inv"});
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(read_text(dir + "/inv/inversion.json"));
  ASSERT_EQ(j["by_steps"].size(), 2u);
  for (const auto& k : {"top10_correlation", "angles_degrees", "assignment_accuracy", "distance_map"})
    EXPECT_TRUE(j["by_steps"][0].contains(k)) << k;
  const auto& angles = j["by_steps"][1]["angles_degrees"];
  EXPECT_NEAR(angles["noise"].get<double>() + angles["latent"].get<double>() + angles["sample"].get<double>(),
              180.0, 1e-6);
  EXPECT_EQ(j["by_steps"][0]["distance_map"]["values"].size(), 3u);  // x_T and two steps
  EXPECT_GE(j["by_checkpoint"].size(), 1u);
  for (const auto& f :
       {"distance-map-S2.png", "inversion.md", "assignment-over-training.png", "angles-over-training.png"})
    EXPECT_TRUE(file_exists(dir + "/inv/" + f)) << f;
  // A damaged checkpoint among them is refused before the run directory is made.
  std::filesystem::create_directories(dir + "/damaged/checkpoints");
  write_text(dir + "/damaged/checkpoints/step-00000002.pt", "not a checkpoint");
  r = run_ddim({"analyze", "inversion", "--model", a, "--n", "4", "--steps", "2", "--checkpoints",
                dir + "/damaged", "--out", dir + "/inv-damaged"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(last_line(r.err).find("step-00000002.pt"), std::string::npos) << r.err;
  EXPECT_FALSE(file_exists(dir + "/inv-damaged"));
}

TEST(CliModel, GravityMapOfATwoDimensionalModel) {
  const auto dir = scratch_dir();
  auto r =
      run_ddim({"train", "--data", "toy:two-moons", "--toy-size", "512", "--steps", "20", "--batch", "64",
                "--mlp-width", "32", "--mlp-layers", "2", "--log-every", "10", "--out", dir + "/moons"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(file_exists(dir + "/moons/samples.png"));
  r = run_ddim({"analyze", "gravity", "--model", dir + "/moons/model.pt", "--grid", "16", "--points", "3",
                "--steps", "4", "--out", dir + "/g"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(read_text(dir + "/g/gravity.json"));
  EXPECT_EQ(j["seeds"].size(), 2u * 16 * 16);
  EXPECT_EQ(j["generated"].size(), 2u * 16 * 16);
  EXPECT_EQ(j["embeddings"].size(), 3u);
  EXPECT_TRUE(file_exists(dir + "/g/gravity.png"));
  EXPECT_TRUE(file_exists(dir + "/g/embeddings.png"));
  // An image model is refused.
  const auto img = shared_tiny_model();
  r = run_ddim({"analyze", "gravity", "--model", img, "--out", dir + "/bad"});
  EXPECT_EQ(r.status, 2);
}

TEST(CliModel, ClassifierAndEval) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  const auto mnist = std::filesystem::path(model).parent_path().parent_path().string() + "/mnist";
  auto r = run_ddim({"train-classifier", "--data", "mnist:" + mnist, "--epochs", "2", "--batch", "8",
                     "--log-every", "2", "--out", dir + "/cls"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto acc = nlohmann::json::parse(read_text(dir + "/cls/accuracy.json"));
  EXPECT_EQ(acc["examples"], 8);
  EXPECT_EQ(acc["split"], "test");
  auto classifier = load_classifier(dir + "/cls/model.pt");
  // The share of the 8 test images whose argmax class is their label, counted here.
  const auto predicted_classes = [&](const torch::Tensor& images) {
    torch::NoGradGuard no_grad;
    classifier.network->eval();
    return classifier.network->forward(images).argmax(1);
  };
  {
    auto source = DataSource::from_json(load_checkpoint(dir + "/cls/model.pt").meta.at("data_options"));
    source.options.split = Split::Test;
    const auto test = source.load();
    ASSERT_EQ(test.size(), 8);
    const double correct = predicted_classes(test.all()).eq(test.labels).sum().item<double>();
    EXPECT_DOUBLE_EQ(acc["test_accuracy"].get<double>(), correct / 8);
  }
  // info describes the classifier as one: its class layer is not a class condition.
  r = run_ddim({"info", dir + "/cls/model.pt"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("classifier"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("class-conditional"), std::string::npos) << r.out;
  r = run_ddim({"eval", "--classifier", dir + "/cls/model.pt", "--model", model, "--n", "6", "--steps", "2",
                "--out", dir + "/ev"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(read_text(dir + "/ev/eval.json"));
  EXPECT_TRUE(j.contains("frechet_distance"));
  EXPECT_NE(j["note"].get<std::string>().find("not Inception FID"), std::string::npos);
  double total = 0;
  for (const auto& [k, v] : j["class_distribution"].items()) total += v.get<double>();
  EXPECT_NEAR(total, 1.0, 1e-9);
  r = run_ddim({"reconstruct", "--model", model, "--limit", "4", "--steps", "2", "--out", dir + "/rec"});
  ASSERT_EQ(r.status, 0) << r.err;
  // The embedding's bar appears when its only batch is done: its rate counts the time from the
  // start (it once divided 4 images by the microseconds since that report: millions a second).
  const std::regex rate(R"(embed: 100% 4/4 ([0-9.]+) img/s)");
  int rates = 0;
  for (std::sregex_iterator it(r.err.begin(), r.err.end(), rate), end; it != end; ++it, ++rates)
    EXPECT_LT(std::stod((*it)[1].str()), 1e5) << r.err;
  EXPECT_GT(rates, 0) << r.err;
  r = run_ddim({"eval", "--classifier", dir + "/cls/model.pt", "--reconstruction", dir + "/rec", "--out",
                dir + "/ev2"});
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(read_text(dir + "/ev2/eval.json"));
  {
    // The share of reconstructions the classifier puts in the original's class, and of originals in
    // their labelled class, counted here from the reconstruction's tensors.
    const auto classes_of = [&](const std::string& file) {
      const auto images = load_tensor(dir + "/rec/" + file);
      std::vector<torch::Tensor> v;
      for (int64_t i = 0; i < images.size(0); ++i) v.push_back(images[i]);
      return predicted_classes(conform_images(v, classifier.data));
    };
    const auto originals = classes_of("originals.pt"), reconstructions = classes_of("reconstructions.pt");
    const auto labels = load_tensor(dir + "/rec/labels.pt").to(torch::kInt64);
    ASSERT_EQ(originals.size(0), 4);
    EXPECT_EQ(j["images"], 4);
    EXPECT_DOUBLE_EQ(j["class_kept"].get<double>(), originals.eq(reconstructions).sum().item<double>() / 4);
    EXPECT_DOUBLE_EQ(j["accuracy_on_originals"].get<double>(), originals.eq(labels).sum().item<double>() / 4);
    EXPECT_DOUBLE_EQ(j["accuracy_on_reconstructions"].get<double>(),
                     reconstructions.eq(labels).sum().item<double>() / 4);
  }

  // --real scores the other split's images: where the test split is a copy of the training
  // split, the two sets are one, and their Fréchet distance is zero.
  const auto same = dir + "/same";
  std::filesystem::create_directories(same);
  for (const std::string kind : {"images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"}) {
    std::filesystem::copy_file(mnist + "/train-" + kind, same + "/train-" + kind);
    std::filesystem::copy_file(mnist + "/train-" + kind, same + "/t10k-" + kind);
  }
  r = run_ddim({"eval", "--classifier", dir + "/cls/model.pt", "--real", "--data", "mnist:" + same, "--n",
                "32", "--out", dir + "/floor"});
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(read_text(dir + "/floor/eval.json"));
  EXPECT_NEAR(j["frechet_distance"].get<double>(), 0.0, 1e-3);
  EXPECT_EQ(j["samples"], 32);
  r = run_ddim(
      {"eval", "--classifier", dir + "/cls/model.pt", "--real", "--split", "all", "--out", dir + "/x"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--real"), std::string::npos) << r.err;
}

TEST(CliModel, DiffusionAutoencoderFromTrainingToManipulation) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/mnist", 32, 8);
  auto args = train_args(dir + "/mnist", dir + "/ae", 4);
  for (const auto& extra : {"--arch", "diffae", "--z-dim", "8", "--groups", "4"}) args.push_back(extra);
  auto r = run_ddim(args);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto model = dir + "/ae/model.pt";
  r = run_ddim({"info", model});
  EXPECT_NE(r.out.find("diffae"), std::string::npos) << r.out;
  // encode -> decode with the inferred x_T equals reconstruct.
  r = run_ddim({"encode", "--model", model, "--limit", "3", "--steps", "3", "--out", dir + "/enc"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load_tensor(dir + "/enc/zsem.pt").sizes(), (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(load_tensor(dir + "/enc/xT.pt").sizes(), (std::vector<int64_t>{3, 1, 32, 32}));
  r = run_ddim({"decode", "--model", model, "--zsem", dir + "/enc/zsem.pt", "--xT", dir + "/enc/xT.pt",
                "--steps", "3", "--out", dir + "/dec"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_ddim({"reconstruct", "--model", model, "--limit", "3", "--steps", "3", "--out", dir + "/rec"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::allclose(load_tensor(dir + "/dec/images.pt"),
                              load_tensor(dir + "/rec/reconstructions.pt"), 1e-5, 1e-6));
  EXPECT_EQ(nlohmann::json::parse(read_text(dir + "/rec/metrics.json"))["x_T"], "inferred");
  r = run_ddim({"reconstruct", "--model", model, "--limit", "3", "--steps", "3", "--random-xt", "--out",
                dir + "/rnd"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir + "/rnd/metrics.json"))["x_T"], "random");
  // Interpolation end points reproduce the reconstructions of the inputs.
  r = run_ddim({"interpolate", "--model", model, "--from", "0", "--to", "1", "--frames", "4", "--steps", "3",
                "--mode", "slerp", "--out", dir + "/strip.png"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto strip = load_tensor(dir + "/strip.pt"), rec = load_tensor(dir + "/rec/reconstructions.pt");
  EXPECT_TRUE(torch::allclose(strip[0], rec[0], 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(strip[3], rec[1], 1e-5, 1e-6));
  // Sampling needs a latent DDIM.
  r = run_ddim({"sample", "--model", model, "--n", "2", "--out", dir + "/nolatent"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(last_line(r.err).find("train-latent"), std::string::npos) << r.err;
  r = run_ddim({"train-latent", "--model", model, "--steps", "5", "--batch", "8", "--width", "16", "--layers",
                "2", "--out", dir + "/latent"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_ddim({"sample", "--model", model, "--latent", dir + "/latent/model.pt", "--n", "3", "--steps", "2",
                "--out", dir + "/samples"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load_tensor(dir + "/samples/zsem.pt").sizes(), (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(load_tensor(dir + "/samples/samples.pt").size(0), 3);
  // Attribute manipulation along a linear classifier on z_sem.
  r = run_ddim({"manipulate", "--model", model, "--attribute", "class:3", "--scales", "-1,0,1", "--limit",
                "2", "--steps", "3", "--out", dir + "/man"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(read_text(dir + "/man/manipulate.json"));
  EXPECT_EQ(j["scales"].size(), 3u);
  EXPECT_TRUE(j["classifier"].contains("auroc"));
  EXPECT_TRUE(file_exists(dir + "/man/manipulation.png"));
  // Scale 0 leaves z_sem where it was: the decodings are the reconstructions of the two inputs; the
  // other scales move it, and change them. The 4-step model hardly reads z_sem, so the tolerance is
  // tight: scale 0 differed from the reconstructions by 1.2e-7 (other batches), scales -1 and 1 from
  // scale 0 by 6.7e-7 and 7.2e-7 (2026-12-07, AMD EPYC).
  const auto manipulated = load_tensor(dir + "/man/manipulation.pt");
  ASSERT_EQ(manipulated.sizes(), (std::vector<int64_t>{3, 2, 1, 28, 28}));  // padding cropped
  const auto distance = [](const torch::Tensor& x, const torch::Tensor& y) {
    return (x - y).abs().max().item<double>();
  };
  EXPECT_LE(distance(manipulated[1], rec.slice(0, 0, 2)), 3e-7);
  for (const int64_t c : {0, 2})
    EXPECT_GT(distance(manipulated[c], manipulated[1]), 3e-7) << "scale " << c - 1;
  r = run_ddim({"manipulate", "--model", model, "--attribute", "smiling", "--out", dir + "/bad"});
  EXPECT_EQ(r.status, 2);
  // Embedders do not apply to an autoencoder.
  r = run_ddim({"reconstruct", "--model", model, "--embedder", model, "--out", dir + "/bad2"});
  EXPECT_EQ(r.status, 2);
}

// Every `ddim bench` command prints one JSON line with its measurement and the settings it ran.
TEST(CliModel, BenchCommandsPrintOneJsonLine) {
  const std::vector<std::string> tiny = {"--widths", "8,16", "--image-size", "8", "--batch", "2",
                                         "--iters",  "1",    "--warmup",     "1"};
  for (const std::string what : {"train", "sample", "invert", "synthesize", "train-embedder"}) {
    for (const bool bf16 : {false, true}) {
      std::vector<std::string> args = {"bench", what};
      args.insert(args.end(), tiny.begin(), tiny.end());
      if (what != "train") args.insert(args.end(), {"--steps", "2"});
      if (bf16) args.push_back("--bf16");
      const auto r = run_ddim(args);
      ASSERT_EQ(r.status, 0) << what << ": " << r.err;
      const auto j = nlohmann::json::parse(last_line(r.out));
      EXPECT_EQ(j["what"], what);
      EXPECT_EQ(j["bf16"], bf16) << what;
      EXPECT_EQ(j["widths"], (std::vector<int64_t>{8, 16}));
      EXPECT_GT(j["images_per_s"].get<double>(), 0.0) << what;
      EXPECT_GT(j["peak_rss_mb"].get<double>(), 0.0) << what;
    }
  }
  // Fixed-point inversion (K + 1 network calls a step) says so in its line; a negative K is refused.
  std::vector<std::string> invert = {"bench", "invert", "--steps", "2", "--threads", "1"};
  invert.insert(invert.end(), tiny.begin(), tiny.end());
  auto fixed_point = invert;
  fixed_point.insert(fixed_point.end(), {"--fixed-point", "3"});
  const auto plain = run_ddim(invert), refined = run_ddim(fixed_point);
  ASSERT_EQ(refined.status, 0) << refined.err;
  const auto jp = nlohmann::json::parse(last_line(plain.out)),
             jf = nlohmann::json::parse(last_line(refined.out));
  EXPECT_EQ(jp["method"], "ddim");
  EXPECT_EQ(jf["method"], "fixed-point");
  EXPECT_EQ(jf["fixed_point"], 3);
  const auto r = run_ddim({"bench", "train-embedder", "--arch", "conv7"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("conv7"), std::string::npos) << r.err;
  EXPECT_EQ(run_ddim({"bench", "invert", "--fixed-point", "-1"}).status, 2);
}

TEST(CliModel, ScheduleWritesTheTwoFigures) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/mnist", 4, 4);
  auto r = run_ddim({"schedule", "--kind", "all", "--data", "mnist:" + dir + "/mnist", "--out", dir + "/s"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const auto& f : {"alpha.png", "alpha.csv", "noising.png", "schedules.json"})
    EXPECT_TRUE(file_exists(dir + "/s/" + f)) << f;
  const auto csv = read_text(dir + "/s/alpha.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "t,continuous-cosine,linear,quadratic,cosine");
  // t = 0: continuous cosine starts at 0.95^2, the discrete ones at 1.
  const auto row = csv.substr(csv.find('\n') + 1, csv.find('\n', csv.find('\n') + 1) - csv.find('\n') - 1);
  EXPECT_EQ(row, "0.000000,0.9025,1,1,1");
}

TEST(CliModel, AnFp16ReleaseIsHalfTheSizeAndComputesNearlyAsTheFp32One) {
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  ASSERT_EQ(run_ddim({"export", "--release", "--model", model, "--out", dir + "/r32.pt"}).status, 0);
  auto r = run_ddim({"export", "--release", "--storage", "fp16", "--model", model, "--out", dir + "/r16.pt"});
  ASSERT_EQ(r.status, 0) << r.err;
  // A tiny network: the metadata and the archive take a part of the file that does not halve.
  EXPECT_LT(std::filesystem::file_size(dir + "/r16.pt"), 0.7 * std::filesystem::file_size(dir + "/r32.pt"));
  r = run_ddim({"info", dir + "/r16.pt"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("storage      fp16 weights"), std::string::npos) << r.out;
  const auto a = load_denoiser(dir + "/r32.pt"), b = load_denoiser(dir + "/r16.pt");
  torch::NoGradGuard ng;
  const auto x = torch::randn({2, 1, 32, 32});
  const auto v = torch::tensor({0.3f, 0.9f});
  const auto ea = a.network().forward(x, v), eb = b.network().forward(x, v);
  EXPECT_FALSE(torch::equal(ea, eb));  // the weights were rounded ...
  EXPECT_LT((ea - eb).abs().max().item<double>(), 0.01 * ea.abs().max().item<double>());  // ... to 11 bits
  // Only a release changes its storage; an unknown precision is refused.
  r = run_ddim({"export", "--storage", "fp16", "--model", model, "--out", dir + "/w.pt"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("only a --release checkpoint"), std::string::npos) << r.err;
  r = run_ddim({"export", "--release", "--storage", "int8", "--model", model, "--out", dir + "/w.pt"});
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(file_exists(dir + "/w.pt"));
}

TEST(CliModel, ExportLoadsIntoThePyTorchPort) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "Python torch is not installed (scripts/install-deps.sh installs python3-torch)";
  const auto dir = scratch_dir();
  const auto model = shared_tiny_model();
  auto r = run_ddim({"export", "--model", model, "--out", dir + "/weights.pt"});
  ASSERT_EQ(r.status, 0) << r.err;
  // ddim's own prediction on a fixed input ...
  auto d = load_denoiser(model);
  d.network().set_channels_last(false);
  auto x = torch::randn({2, 1, 32, 32});
  auto v = torch::tensor({0.3f, 0.9f});
  torch::NoGradGuard ng;
  save_tensor_dict(dir + "/io.pt", {{"x", x}, {"v", v}, {"eps", d.network().forward(x, v)}});
  // ... equals the PyTorch port's with the exported weights.
  write_text(dir + "/check.py",
             "import sys, torch\n"
             "sys.path.insert(0, sys.argv[1] + '/bench')\n"
             "from pytorch_unet import UNet\n"
             "net = UNet(channels=1, widths=(8, 16), block_depth=1, embedding_dims=8)\n"
             "net.load_state_dict(torch.load(sys.argv[2] + '/weights.pt'))\n"
             "net.eval()\n"
             "io = torch.load(sys.argv[2] + '/io.pt')\n"
             "with torch.no_grad():\n"
             "    out = net(io['x'], io['v'])\n"
             "err = float((out - io['eps']).abs().max())\n"
             "assert err < 1e-4, err\n");
  EXPECT_EQ(std::system(("/usr/bin/python3 " + dir + "/check.py " + source_dir() + " " + dir).c_str()), 0);
}

// On a data set that renders counterfactuals, an edit is also scored against the true edit:
// the original with the class attribute set to the target (here a font colour). A method that
// changes nothing (Direct Inversion with merge 1 replays the inversion: the original) is
// exactly as far from the truth as the original is.
TEST(CliModel, EditsOnFontsAreScoredAgainstTheTrueEdits) {
  const auto dir = scratch_dir();
  std::vector<std::string> args = {"train",       "--data",
                                   "fonts",       "--resize",
                                   "16",          "--limit",
                                   "64",          "--class-attribute",
                                   "font_colour", "--class-conditional",
                                   "--out",       dir + "/cc",
                                   "--steps",     "2"};
  for (const auto& a : tiny_unet_args()) args.push_back(a);
  auto r = run_ddim(args);
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_ddim({"edit",
                "--model",
                dir + "/cc/model.pt",
                "--data",
                "fonts",
                "--resize",
                "16",
                "--class-attribute",
                "font_colour",
                "--limit",
                "2",
                "--to",
                "red,blue",
                "--steps",
                "2",
                "--inversion-steps",
                "2",
                "--method",
                "direct-inversion",
                "--merge",
                "1,0",
                "--out",
                dir + "/edit"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(file_exists(dir + "/edit/truth.png"));
  const auto j = nlohmann::json::parse(read_text(dir + "/edit/metrics.json"));
  const auto& replay = j["settings"][0];  // merge 1: the originals themselves
  ASSERT_EQ(replay["merge"], 1.0);
  DataSource s;
  s.spec = "fonts";
  s.options.resize = 16;
  s.options.split = Split::Test;
  s.options.limit = 2;
  s.options.label_attribute = "font_colour";
  const auto data = s.load();
  const auto& c = data.attributes[find_attribute(data.attributes, "font_colour", "")];
  for (int64_t i = 0; i < 4; ++i) {  // target-major: red for both images, then blue
    const auto& e = replay["per_image"][i];
    const int64_t row = i % 2;
    const auto truth = counterfactuals(data, {row}, "font_colour", {i < 2 ? "red" : "blue"});
    const double want = (truth.to(torch::kFloat64) - data.storage.slice(0, row, row + 1).to(torch::kFloat64))
                            .div(255.0)
                            .pow(2)
                            .mean()
                            .item<double>();
    EXPECT_NEAR(e["truth_mse"].get<double>(), want, 1e-4) << "edit " << i;
    if (c.values[c.labels[row].item<int64_t>()] == (i < 2 ? "red" : "blue")) {
      EXPECT_NEAR(want, 0.0, 1e-12);
    }
  }
  const auto summary = read_text(dir + "/edit/summary.csv");
  EXPECT_NE(summary.find("truth_mse,truth_mse_ci95,truth_ssim,truth_ssim_ci95,truth_feature_distance"),
            std::string::npos)
      << summary;

  // Without --data and --class-attribute the model's own data are labelled by its class attribute
  // (font colour, not the fonts' default, the letter): the sources are font colours and the true
  // edits are the same as above.
  r = run_ddim({"edit", "--model", dir + "/cc/model.pt", "--limit", "2", "--to", "red,blue", "--steps", "2",
                "--inversion-steps", "2", "--method", "direct-inversion", "--merge", "1,0", "--out",
                dir + "/edit-default"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto k = nlohmann::json::parse(read_text(dir + "/edit-default/metrics.json"));
  for (int64_t i = 0; i < 4; ++i) {
    const auto& e = k["settings"][0]["per_image"][i];
    EXPECT_EQ(e["source"].get<int64_t>(), c.labels[i % 2].item<int64_t>()) << "edit " << i;
    EXPECT_DOUBLE_EQ(e["truth_mse"].get<double>(), replay["per_image"][i]["truth_mse"].get<double>()) << i;
  }
}

// Class-conditional training, guided sampling, and editing (Direct Inversion and baselines).
TEST(CliModel, ClassConditionalSamplingAndEditing) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/mnist", 40, 10);
  auto args = train_args(dir + "/mnist", dir + "/cc", 4);
  for (const auto& extra : {"--class-conditional", "--cond-drop", "0.2", "--class-embedding-dims", "8"})
    args.push_back(extra);
  auto r = run_ddim(args);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto model = dir + "/cc/model.pt";
  r = run_ddim({"info", model});
  EXPECT_NE(r.out.find("class-conditional over 10 classes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("classes      10: 0, 1, 2"), std::string::npos) << r.out;
  r = run_ddim({"sample", "--model", model, "--n", "3", "--steps", "2", "--class", "3", "--guidance", "2",
                "--out", dir + "/s3"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir + "/s3/sample.json"))["guidance"], 2.0);
  r = run_ddim(
      {"sample", "--model", model, "--n", "2", "--steps", "2", "--class", "all", "--out", dir + "/all"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load_tensor(dir + "/all/samples.pt").size(0), 20);  // every seed in every class
  // Bad requests: one clear line, exit 2, nothing written.
  const auto plain = shared_tiny_model();
  for (const auto& [bad, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"sample", "--model", model, "--class", "eleven", "--out", dir + "/b1"},
            "unknown class 'eleven'"},
           {{"sample", "--model", plain, "--class", "3", "--out", dir + "/b2"}, "not class-conditional"},
           {{"sample", "--model", model, "--guidance", "-1", "--out", dir + "/b3"}, "--guidance"},
           {{"sample", "--model", model, "--guidance", "nan", "--out", dir + "/b4"}, "--guidance"},
           {{"edit", "--model", plain, "--to", "1", "--out", dir + "/b5"}, "not class-conditional"},
           {{"edit", "--model", model, "--to", "sideways", "--out", dir + "/b6"},
            "unknown class 'sideways'"}}) {
    r = run_ddim(bad);
    EXPECT_EQ(r.status, 2) << bad[0] << " " << r.err;
    EXPECT_NE(last_line(r.err).find(message), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(bad.back())) << bad.back();
  }
  r = run_ddim(
      {"train", "--data", "toy:gaussian", "--class-conditional", "--steps", "2", "--out", dir + "/b7"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(last_line(r.err).find("needs labelled data"), std::string::npos) << r.err;
  // Editing: full injection returns the originals; every method and setting is scored.
  ASSERT_EQ(run_ddim({"train-classifier", "--data", "mnist:" + dir + "/mnist", "--epochs", "1", "--batch",
                      "8", "--out", dir + "/cls"})
                .status,
            0);
  r = run_ddim({"edit",
                "--model",
                model,
                "--classifier",
                dir + "/cls/model.pt",
                "--limit",
                "3",
                "--to",
                "1,7",
                "--steps",
                "3",
                "--inversion-steps",
                "3",
                "--method",
                "direct-inversion,sdedit",
                "--merge",
                "0,1",
                "--seeds",
                "2",
                "--out",
                dir + "/edit"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(read_text(dir + "/edit/metrics.json"));
  ASSERT_EQ(j["settings"].size(), 4u);  // λ = 0 and 1, and SDEdit under two seeds
  EXPECT_EQ(j["settings"][1]["merge"], 1.0);
  EXPECT_EQ(j["settings"][1]["inversion_condition"], "null");  // the authors' default
  EXPECT_EQ(j["settings"][1]["merge_with"], "eps");
  EXPECT_LT(j["settings"][1]["mean"]["mse"].get<double>(), 1e-8);
  EXPECT_GT(j["settings"][0]["mean"]["mse"].get<double>(), 1e-6);
  EXPECT_TRUE(j["settings"][0]["mean"].contains("success_rate"));
  EXPECT_EQ(j["settings"][0]["per_image"].size(), 6u);  // 3 images x 2 targets
  EXPECT_EQ(j["settings"][2]["eta"], 1.0);              // SDEdit's stochastic process by default
  EXPECT_NE(j["settings"][2]["seed"], j["settings"][3]["seed"]);
  EXPECT_EQ(load_tensor(dir + "/edit/edits.pt").sizes(), (std::vector<int64_t>{4, 2, 3, 1, 28, 28}));
  for (const auto& f : {"edits.png", "sweep.png", "metrics.csv", "config.toml"})
    EXPECT_TRUE(file_exists(dir + "/edit/" + f)) << f;
  // metrics.csv: a row an edit; a knob the method does not have is an empty cell.
  const auto csv = read_text(dir + "/edit/metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 4 * 6);
  std::vector<std::vector<std::string>> table;
  {
    std::istringstream lines(csv);
    for (std::string line; std::getline(lines, line);) {
      table.emplace_back();
      std::istringstream cells(line);
      for (std::string cell; std::getline(cells, cell, ',');) table.back().push_back(cell);
      if (!line.empty() && line.back() == ',') table.back().push_back("");
    }
  }
  auto column = [&](const std::string& name) {
    const auto it = std::find(table[0].begin(), table[0].end(), name);
    EXPECT_NE(it, table[0].end()) << name;
    return static_cast<size_t>(it - table[0].begin());
  };
  for (size_t row = 1; row < table.size(); ++row) {
    ASSERT_EQ(table[row].size(), table[0].size()) << csv;
    const bool sdedit = table[row][column("method")] == "sdedit";
    for (const auto* knob : {"strength", "eta", "seed"})
      EXPECT_EQ(table[row][column(knob)].empty(), !sdedit) << knob << " in row " << row;
    for (const auto* knob :
         {"merge", "merge_with", "inject_every", "inject_until", "inversion_steps", "inversion_condition"})
      EXPECT_EQ(table[row][column(knob)].empty(), sdedit) << knob << " in row " << row;
  }
  // summary.csv: a row a setting, SDEdit's seeds pooled, means with 95% confidence intervals.
  const auto summary = read_text(dir + "/edit/summary.csv");
  EXPECT_EQ(std::count(summary.begin(), summary.end(), '\n'), 1 + 3);
  EXPECT_NE(summary.find("ssim,ssim_ci95,feature_distance,feature_distance_ci95"), std::string::npos)
      << summary;
  // The charts: the fidelity-editability planes (SSIM and the feature distance), and λ (the
  // one knob Direct Inversion varies).
  for (const auto& f : {"tradeoff-ssim.png", "tradeoff-feature-distance.png",
                        "curve-direct-inversion-null-eps-over-merge-lambda.png"})
    EXPECT_TRUE(file_exists(dir + "/edit/" + f)) << f;
  // --exclude-same-class scores only the pairs whose source class is not already the target.
  r = run_ddim({"edit", "--model", model, "--classifier", dir + "/cls/model.pt", "--limit", "3", "--to",
                "1,7", "--steps", "2", "--inversion-steps", "2", "--method", "inversion",
                "--exclude-same-class", "--out", dir + "/across"});
  ASSERT_EQ(r.status, 0) << r.err;
  size_t across = 0;
  for (const auto& e : j["settings"][0]["per_image"]) across += e["source"] != e["target"];
  const auto x = nlohmann::json::parse(read_text(dir + "/across/metrics.json"));
  EXPECT_EQ(x["settings"][0]["per_image"].size(), across);
  for (const auto& e : x["settings"][0]["per_image"]) EXPECT_NE(e["source"], e["target"]);
  // Fig. 8's landscape: two knobs vary, a heat map a score; null class both ways, no guidance.
  r = run_ddim({"edit", "--model", model, "--limit", "2", "--to", "0", "--from", "none", "--method",
                "inversion", "--guidance", "0", "--inversion-steps", "2,3", "--steps", "2,3", "--out",
                dir + "/landscape"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto l = nlohmann::json::parse(read_text(dir + "/landscape/metrics.json"));
  ASSERT_EQ(l["settings"].size(), 4u);
  EXPECT_EQ(l["settings"][1]["inversion_steps"], 2);
  EXPECT_EQ(l["settings"][1]["steps"], 3);
  EXPECT_TRUE(
      file_exists(dir + "/landscape/heatmap-inversion-null-mse-by-inversion-steps-and-inference-steps.png"));
  EXPECT_FALSE(file_exists(dir + "/landscape/tradeoff-ssim.png"));  // no classifier, no editability
}
