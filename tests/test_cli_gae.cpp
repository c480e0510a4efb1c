// DiffuseGAE through the real binary: train-gae (post hoc, resume, fine-tune), swap,
// interpolate --attribute, reconstruct through a GAE, analyze disentanglement and analyze swap,
// and the refusals of bad input, on a tiny Diff-AE of 16x16 rendered fonts.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ddim/data/dataset.h"
#include "ddim/io/checkpoint.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/attribute_swap.h"
#include "ddim/methods/gae.h"
#include "ddim/nn/classifier.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<std::string> kFonts = {"--data",  "fonts", "--resize",  "16",
                                         "--limit", "64",    "--threads", "1"};

// A tiny diffusion autoencoder (z_sem 8) on 64 rendered 16x16 letters, shared by the tests.
std::string tiny_autoencoder() {
  return shared_dir(
             "tiny-fonts-diffae",
             [](const std::string& dir) {
               auto args = with({"train", "--out", dir + "/ae", "--steps", "4", "--arch", "diffae", "--z-dim",
                                 "8", "--groups", "4"},
                                tiny_unet_args());
               const auto r = run_ddim(with(args, {"--data", "fonts", "--resize", "16", "--limit", "64"}));
               ASSERT_EQ(r.status, 0) << r.err;
             }) +
         "/ae/model.pt";
}

std::vector<std::string> train_gae(const std::string& ae, const std::string& out,
                                   const std::string& partition) {
  return with({"train-gae", "--model",
               ae,          "--partition",
               partition,   "--out",
               out,         "--steps",
               "4",         "--batch",
               "8",         "--width",
               "16",        "--mlp-blocks",
               "1",         "--bottleneck-blocks",
               "1",         "--log-every",
               "2",         "--checkpoint-every",
               "2",         "--preview-images",
               "2"},
              kFonts);
}

}  // namespace

TEST(CliGae, TrainSwapInterpolateReconstructAndAnalyse) {
  if (!have_binary()) GTEST_SKIP() << "the ddim tool was not built";
  const auto ae = tiny_autoencoder();
  const auto dir = scratch_dir();
  auto r = run_ddim(train_gae(ae, dir + "/gae", "letter:3,font:3,rest"));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const auto& f : {"model.pt", "metrics.jsonl", "config.toml", "preview.png"})
    EXPECT_TRUE(file_exists(dir + "/gae/" + f)) << f;
  const auto ck = load_checkpoint(dir + "/gae/model.pt");
  EXPECT_EQ(ck.kind(), "gae");
  EXPECT_EQ(Partition::from_json(ck.meta.at("partition")).to_string(), "letter:3,font:3,rest:2");
  EXPECT_EQ(ck.meta.at("autoencoder").at("fingerprint").get<std::string>(),
            denoiser_fingerprint(load_checkpoint(ae)));
  EXPECT_NE(read_text(dir + "/gae/metrics.jsonl").find("valid_l_ss"), std::string::npos);
  // The Diff-AE a post hoc GAE carries is the one it was trained on, bit for bit: exported, it is that model.
  r = run_ddim(
      {"export", "--model", dir + "/gae/model.pt", "--autoencoder", "--release", "--out", dir + "/ae.pt"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto exported = load_checkpoint(dir + "/ae.pt"), original = load_checkpoint(ae);
  EXPECT_EQ(exported.kind(), "denoiser");
  EXPECT_TRUE(exported.meta.value("released", false));
  // It reads its data as the GAE did (a faces set exported without them was read at 64x64, not 32x32).
  EXPECT_EQ(exported.meta.at("data_options"), ck.meta.at("data_options"));
  ASSERT_EQ(exported.states.at("ema").size(), original.states.at("ema").size());
  for (const auto& [name, t] : original.states.at("ema"))
    EXPECT_TRUE(torch::equal(t, exported.states.at("ema").at(name))) << name;
  EXPECT_EQ(run_ddim({"info", dir + "/ae.pt"}).status, 0);

  // Resume to a longer run, then fine-tune jointly with the Diff-AE.
  r = run_ddim({"train-gae", "--resume", dir + "/gae", "--steps", "6", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load_checkpoint(dir + "/gae/model.pt").meta.at("step").get<int64_t>(), 6);
  r = run_ddim(with({"train-gae", "--model", dir + "/gae/model.pt", "--finetune", "--steps", "2", "--batch",
                     "2", "--out", dir + "/ft", "--log-every", "1"},
                    kFonts));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto ft = load_checkpoint(dir + "/ft/model.pt");
  EXPECT_TRUE(ft.meta.at("autoencoder").at("finetuned").get<bool>());
  EXPECT_TRUE(ft.states.count("autoencoder_raw"));
  EXPECT_NE(read_text(dir + "/ft/metrics.jsonl").find("l_simple"), std::string::npos);
  EXPECT_NE(read_text(dir + "/ft/metrics.jsonl").find("z_sem_std"), std::string::npos);

  const auto gae = dir + "/ft/model.pt";
  // Sources 0 and 1 are donors too: a source with its own part is its reconstruction.
  r = run_ddim({"swap", "--model", gae, "--from", "0,1", "--to", "0,1,4", "--attributes", "font,letter",
                "--steps", "2", "--out", dir + "/swap", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const auto& f : {"swap-font.png", "swap-letter.png", "swap.json"})
    EXPECT_TRUE(file_exists(dir + "/swap/" + f)) << f;
  const auto swap_font = load_tensor(dir + "/swap/swap-font.pt"),
             swap_letter = load_tensor(dir + "/swap/swap-letter.pt");
  ASSERT_EQ(swap_font.sizes(), (std::vector<int64_t>{2, 3, 3, 16, 16}));  // [sources, donors, C, H, W]
  ASSERT_EQ(swap_letter.sizes(), swap_font.sizes());
  r = run_ddim({"interpolate", "--model", gae, "--from", "0", "--to", "1", "--attribute", "font", "--frames",
                "3", "--steps", "2", "--out", dir + "/strip.png", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(file_exists(dir + "/strip.png"));
  r = run_ddim({"reconstruct", "--model", gae, "--limit", "4", "--steps", "2", "--out", dir + "/rec",
                "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto originals = load_tensor(dir + "/rec/originals.pt"),
             rec = load_tensor(dir + "/rec/reconstructions.pt");
  ASSERT_EQ(rec.sizes(), (std::vector<int64_t>{4, 3, 16, 16}));
  const auto rec_json = nlohmann::json::parse(read_text(dir + "/rec/metrics.json"));
  const double rec_mse = (rec - originals).pow(2).mean().item<double>();
  EXPECT_NEAR(rec_json.at("mean").at("mse").get<double>(), rec_mse, 1e-6 * rec_mse);
  // The three commands decode the same codes from the same x_T: a source swapped with itself, the
  // strip's first frame and the reconstruction agree; the strip's last frame is source 0 with
  // source 1's font part, the swap's (0, 1) cell; swapping the letter part instead changes it.
  // The tiny model hardly reads its code (its reconstructions come from x_T), so the tolerance is
  // tight: equal decodings differed by at most 1.2e-7 (batches of other sizes), decodings of other
  // codes by 3e-6 to 1.1e-5 (2026-12-07, AMD EPYC).
  const auto close = [](const torch::Tensor& x, const torch::Tensor& y) {
    const double d = (x - y).abs().max().item<double>();
    return d <= 5e-7 ? ::testing::AssertionSuccess() : ::testing::AssertionFailure() << "differ by " << d;
  };
  const auto strip = load_tensor(dir + "/strip.pt");
  ASSERT_EQ(strip.size(0), 3);
  for (int64_t s = 0; s < 2; ++s) {
    EXPECT_TRUE(close(swap_font[s][s], rec[s])) << "source " << s;
    EXPECT_TRUE(close(swap_letter[s][s], rec[s])) << "source " << s;
  }
  EXPECT_TRUE(close(strip[0], rec[0]));
  EXPECT_TRUE(close(strip[2], swap_font[0][1]));
  EXPECT_GT((swap_font[0][1] - swap_letter[0][1]).abs().max().item<double>(), 2e-6);

  r = run_ddim({"analyze", "disentanglement", "--model", gae, "--train-examples", "64", "--test-examples",
                "32", "--probe-iters", "10", "--out", dir + "/dis", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto d = nlohmann::json::parse(read_text(dir + "/dis/disentanglement.json"));
  EXPECT_EQ(d.at("parts").size(), 3u);
  EXPECT_TRUE(d.at("attributes").contains("font"));
  // The baseline: the plain Diff-AE's z_sem in equal chunks, one per attribute.
  r = run_ddim({"analyze", "disentanglement", "--model", ae, "--train-examples", "64", "--test-examples",
                "32", "--probe-iters", "10", "--out", dir + "/dis-ae", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir + "/dis-ae/disentanglement.json")).at("parts").size(), 5u);

  r = run_ddim(with({"train-classifier", "--out", dir + "/cls", "--epochs", "1", "--batch", "16",
                     "--class-attribute", "font"},
                    kFonts));
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_ddim({"analyze", "swap", "--model", gae, "--classifier", "font=" + dir + "/cls/model.pt", "--pairs",
                "4", "--examples", "16", "--steps", "2", "--out", dir + "/succ", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto s = nlohmann::json::parse(read_text(dir + "/succ/swap.json"));
  EXPECT_TRUE(s.at("swaps").contains("font"));
  EXPECT_FALSE(s.at("swaps").contains("letter"));  // no classifier judges it
  // Fonts render the true swap: the swapped decodings are scored against it.
  // The tool's numbers are the library's swap_success on the first 16 test glyphs (the model's data).
  ASSERT_GT(s.at("swaps").at("font").at("differing_pairs").get<int64_t>(), 0);
  {
    const auto ck = load_checkpoint(gae);
    auto source = DataSource::from_json(ck.meta.at("data_options"));
    source.options.split = Split::Test;
    source.options.limit = 16;
    const PartitionedModel m(gae_from_checkpoint(ck, gae));
    SwapOptions o;
    o.embedding.steps = 2;
    const auto want =
        swap_success(m, source.load(), {{"font", load_classifier(dir + "/cls/model.pt").network}}, 4, o);
    const auto& font = s.at("swaps").at("font");
    ASSERT_EQ(want.swapped, (std::vector<std::string>{"font"}));
    EXPECT_EQ(font.at("differing_pairs").get<int64_t>(), want.differing[0]);
    const auto& truth = font.at("truth");
    EXPECT_NEAR(truth.at("mse").get<double>(), want.truth_mse[0], 1e-4 * want.truth_mse[0]);
    EXPECT_NEAR(truth.at("ssim").get<double>(), want.truth_ssim[0], 1e-4);
    EXPECT_NEAR(truth.at("feature_distance").get<double>(), want.truth_feature_distance[0], 1e-4);
    EXPECT_NEAR(truth.at("unswapped_mse").get<double>(), want.unswapped_truth_mse[0],
                1e-4 * want.unswapped_truth_mse[0]);
    // The swap changed the decodings the truth is compared with.
    EXPECT_NE(truth.at("mse").get<double>(), truth.at("unswapped_mse").get<double>());
  }
  EXPECT_NE(read_text(dir + "/succ/swap.md").find("Against the true swaps"), std::string::npos);
  // The paper's Table 2 protocol: decoding from the code reassembled from each group's parts.
  r = run_ddim({"analyze", "reassembly", "--model", gae, "--groups", "4", "--examples", "16", "--steps", "2",
                "--classifier", dir + "/cls/model.pt", "--out", dir + "/reasm", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto g = nlohmann::json::parse(read_text(dir + "/reasm/reassembly.json"));
  EXPECT_EQ(g.at("groups").get<int64_t>(), 4);
  // Its reconstruction row is that of the first four test glyphs, which `reconstruct` wrote above;
  // the reassembled codes, with parts from other members of each group, decode to other images
  // (by little: their MSE differed by 1e-4 of it, the model hardly reading its code).
  EXPECT_NEAR(g.at("reconstruction").at("mse").get<double>(), rec_mse, 1e-5 * rec_mse);
  {
    auto c = load_classifier(dir + "/cls/model.pt");
    const double fd = feature_distance(*c.network, originals, rec).mean().item<double>();
    EXPECT_NEAR(g.at("reconstruction").at("feature_distance").get<double>(), fd, 1e-4 * fd + 1e-7);
  }
  EXPECT_NE(g.at("reassembled").at("mse").get<double>(), g.at("reconstruction").at("mse").get<double>());
  EXPECT_GT(g.at("reassembled").at("feature_distance").get<double>(), 0.0);
  EXPECT_TRUE(file_exists(dir + "/reasm/reassembly.png"));
  EXPECT_NE(read_text(dir + "/reasm/reassembly.md").find("the group's parts"), std::string::npos);
  // A classifier of another attribute is refused: its classes do not match.
  r = run_ddim({"analyze", "swap", "--model", gae, "--classifier", "letter=" + dir + "/cls/model.pt",
                "--pairs", "2", "--steps", "2", "--out", dir + "/succ2", "--threads", "1"});
  EXPECT_EQ(r.status, 2) << r.err;
}

TEST(CliGae, BadInputIsRefusedWithExitTwoAndNothingWritten) {
  if (!have_binary()) GTEST_SKIP() << "the ddim tool was not built";
  const auto ae = tiny_autoencoder();
  const auto dir = scratch_dir();
  auto expect_refused = [&](const std::vector<std::string>& args, const std::string& out,
                            const std::string& says) {
    const auto r = run_ddim(args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << out;
  };
  // An unknown attribute name lists the valid ones.
  expect_refused(train_gae(ae, dir + "/a", "letter:4,colour:4"), dir + "/a", "font_colour");
  // Sizes that do not add up to z_dis (z_sem's 8 by default).
  expect_refused(train_gae(ae, dir + "/b", "letter:4,font:2"), dir + "/b", "add up to 6");
  expect_refused(with(train_gae(ae, dir + "/c", "letter:4,font:4"), {"--z-dis", "10"}), dir + "/c",
                 "add up to 8");
  // Fine-tuning starts from a trained GAE, not from a Diff-AE.
  expect_refused(with(train_gae(ae, dir + "/d", "letter:4,font:4"), {"--finetune"}), dir + "/d", "post hoc");
  // Swapping an attribute the partition does not have.
  auto r = run_ddim(train_gae(ae, dir + "/gae", "letter:4,font:4"));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_refused({"swap", "--model", dir + "/gae/model.pt", "--from", "0", "--to", "1", "--attributes",
                  "size", "--steps", "2", "--out", dir + "/e"},
                 dir + "/e", "no part 'size'");
  // A GAE has its own partition; a plain model that is no autoencoder has none.
  expect_refused({"analyze", "disentanglement", "--model", dir + "/gae/model.pt", "--partition", "letter:8",
                  "--out", dir + "/f"},
                 dir + "/f", "its own partition");
  expect_refused({"interpolate", "--model", ae, "--from", "0", "--to", "1", "--attribute", "font", "--out",
                  dir + "/g.png"},
                 dir + "/g.png", "DiffuseGAE");
  // Only a GAE file carries a Diff-AE to export.
  expect_refused({"export", "--model", ae, "--autoencoder", "--release", "--out", dir + "/h.pt"},
                 dir + "/h.pt", "not a DiffuseGAE");
}

// Diff-AE's manipulation (Fig. 5) on a set that renders counterfactuals: the linear classifier
// is fitted on the whole training split (not only the --where inputs, which all lack the
// attribute), and every scale's decodings are scored against each input rendered with the
// attribute changed: the JSON's distances are those of the written tensors.
TEST(CliGae, ManipulateScoresAgainstTheTrueManipulation) {
  if (!have_binary()) GTEST_SKIP() << "the ddim tool was not built";
  const auto ae = tiny_autoencoder();
  const auto dir = scratch_dir();
  // Glyphs of small letters moved towards large ones.
  const std::vector<std::string> towards_large = {
      "--class-attribute", "size", "--attribute", "class:large", "--where", "size=small", "--limit",   "3",
      "--train-examples",  "64",   "--scales",    "0,2",         "--steps", "2",          "--threads", "1"};
  auto r =
      run_ddim(with({"manipulate", "--model", ae, "--data", "fonts", "--resize", "16", "--out", dir + "/man"},
                    towards_large));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(read_text(dir + "/man/manipulate.json"));
  EXPECT_EQ(j.at("class_attribute"), "size");
  EXPECT_EQ(j.at("truth_images").get<int64_t>(), 3);
  const auto images = load_tensor(dir + "/man/manipulation.pt"), truth = load_tensor(dir + "/man/truth.pt");
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{2, 3, 3, 16, 16}));
  ASSERT_EQ(truth.sizes(), (std::vector<int64_t>{3, 3, 16, 16}));
  for (int64_t c = 0; c < 2; ++c) {
    const double mse = (images[c] - truth).pow(2).mean().item<double>();
    EXPECT_NEAR(j.at("scales")[c].at("truth_mse").get<double>(), mse, 1e-6 * (1 + mse)) << c;
    EXPECT_GT(mse, 0.0);
  }
  // Without --data the model's own data is read as the model reads it (16x16 glyphs), the linear classifier's
  // training images too: the same manipulation.
  r = run_ddim(with({"manipulate", "--model", ae, "--out", dir + "/man-default"}, towards_large));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::equal(load_tensor(dir + "/man-default/manipulation.pt"), images));
  // The truth is the input with large letters: not the input itself.
  r = run_ddim({"reconstruct", "--model", ae, "--data", "fonts", "--resize", "16", "--where", "size=small",
                "--limit", "3", "--steps", "2", "--out", dir + "/rec", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GT((load_tensor(dir + "/rec/originals.pt") - truth).abs().max().item<double>(), 0.1);
}
