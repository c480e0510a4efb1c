// Hostile files and signals through the real binary: each bad input gives exit status 2 and
// one line naming the file (and the tensor or key), and leaves nothing in --out; SIGTERM ends
// long phases promptly, a training run's checkpoint written first.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "crafted.h"
#include "ddim/io/checkpoint.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

// Runs ddim, expecting a usage error (2) whose message, on one line, holds `part`.
void expect_refused(const std::vector<std::string>& args, const std::string& part, int status = 2) {
  const auto r = run_ddim(args);
  EXPECT_EQ(r.status, status) << r.err;
  EXPECT_NE(last_line(r.err).find(part), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("frame #"), std::string::npos) << r.err;  // never a LibTorch backtrace
}

std::string tiny_model(const std::string& dir) {
  save_checkpoint(dir + "/model.pt", tiny_denoiser_checkpoint());
  return dir + "/model.pt";
}

bool anything_in(const std::string& dir) { return std::filesystem::exists(dir); }

// wait_ddim with a deadline: a process that ignores the signal is killed and the test fails
// instead of hanging.
int wait_at_most(int pid, double seconds) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  wait_ddim(pid);
  ADD_FAILURE() << "the process did not end within " << seconds << " s of the signal";
  return -1;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST(CliHostile, DamagedCheckpointsAreRefusedByTensorAndKey) {
  const auto dir = scratch_dir();
  const auto ck = tiny_denoiser_checkpoint();
  std::string target;
  for (const auto& [name, t] : ck.states.at("ema"))
    if (t.dim() == 4 && target.empty()) target = name;
  auto write = [&](const std::string& file, const std::function<void(RawTensor&, std::vector<char>&)>& f) {
    write_bytes(dir + "/" + file, checkpoint_file(ck, [&](const std::string& state, const std::string& name,
                                                          RawTensor& raw, std::vector<char>& record) {
                  if (state == "ema" && name == target) f(raw, record);
                }));
    return dir + "/" + file;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {write("stride.pt", [](RawTensor& r, std::vector<char>&) { r.strides[0] = 65535; }), "reaches element"},
      {write("offset.pt", [](RawTensor& r, std::vector<char>&) { r.offset = -2147483648LL; }),
       "negative storage offset"},
      {write("short.pt", [](RawTensor&, std::vector<char>& rec) { rec.resize(rec.size() / 2); }),
       "but the file holds"},
      {write("nan.pt",
             [](RawTensor&, std::vector<char>& rec) {
               const float inf = INFINITY;
               std::memcpy(rec.data(), &inf, 4);
             }),
       "states.ema: tensor '" + target + "': 1 of"},
  };
  for (const auto& [file, part] : cases) {
    const auto out = dir + "/out-" + std::filesystem::path(file).stem().string();
    expect_refused({"sample", "--model", file, "--n", "2", "--out", out}, file + ": ");
    expect_refused({"sample", "--model", file, "--n", "2", "--out", out}, part);
    EXPECT_FALSE(anything_in(out)) << out;
  }
  auto bad_meta = ck;
  bad_meta.meta["stats"]["mean"] = "zero";
  write_bytes(dir + "/meta.pt", checkpoint_file(bad_meta));
  expect_refused(
      {"sample", "--model", dir + "/meta.pt", "--out", dir + "/out-meta"},
      dir + "/meta.pt: checkpoint metadata: key 'stats.mean': expected an array of finite numbers");
  EXPECT_FALSE(anything_in(dir + "/out-meta"));
  bad_meta = ck;
  bad_meta.meta["step"] = "many";
  write_bytes(dir + "/step.pt", checkpoint_file(bad_meta));
  expect_refused({"info", dir + "/step.pt"},
                 dir + "/step.pt: checkpoint metadata: key 'step': expected an integer, found string");
}

TEST(CliHostile, BadSeedFilesAreRefusedBeforeAnythingIsWritten) {
  const auto dir = scratch_dir();
  const auto model = tiny_model(dir);
  const auto small = torch::randn({2048});
  auto lying = raw_of(small, "0");
  lying.numel = 2147483647;  // declares 8 GB, holds 8 KB: crashed while writing seeds.pt
  write_bytes(dir + "/lying.pt", tensor_file(lying, record_of(small)));
  save_tensor(dir + "/empty.pt", torch::zeros({0, 1, 8, 8}));
  auto nan = torch::randn({2, 1, 8, 8});
  nan[0][0][0][1] = NAN;
  save_tensor(dir + "/nan.pt", nan);
  save_tensor(dir + "/int.pt", torch::zeros({2, 1, 8, 8}, torch::kInt64));
  const auto q = torch::zeros({64}, torch::kUInt8);
  auto quantized = raw_of(q, "0");
  quantized.storage = "QUInt8Storage";
  write_bytes(dir + "/quantized.pt", tensor_file(quantized, record_of(q)));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"lying.pt", "declares 2147483647 Float values"},
      {"empty.pt", "is empty"},
      {"nan.pt", "1 of 128 values are NaN or infinite (the first at [0, 0, 0, 1])"},
      {"int.pt", "holds Long values"},
      {"quantized.pt", "torch.QUInt8Storage"},
  };
  for (const auto& [file, part] : cases) {
    const auto out = dir + "/out-" + file;
    expect_refused({"sample", "--model", model, "--seeds-in", dir + "/" + file, "--out", out},
                   dir + "/" + file + ": ");
    expect_refused({"sample", "--model", model, "--seeds-in", dir + "/" + file, "--out", out}, part);
    EXPECT_FALSE(anything_in(out)) << file;
  }
  // Valid seeds still sample.
  save_tensor(dir + "/ok.pt", torch::randn({2, 1, 8, 8}, torch::kFloat64));
  const auto r = run_ddim(
      {"sample", "--model", model, "--seeds-in", dir + "/ok.pt", "--steps", "2", "--out", dir + "/ok"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(file_exists(dir + "/ok/samples.pt"));
}

TEST(CliHostile, ImageBombsAreRefusedQuicklyNamingTheFile) {
  const auto dir = scratch_dir();
  // 822 bytes claiming 100 x 16,777,216 pixels.
  std::vector<char> bmp(822, 0);
  auto le = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bmp[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  };
  bmp[0] = 'B';
  bmp[1] = 'M';
  le(10, 54);
  le(14, 40);
  le(18, 100);
  le(22, 16777216);
  bmp[26] = 1;
  bmp[28] = 24;
  write_bytes(dir + "/bomb/a.bmp", bmp);
  auto start = std::chrono::steady_clock::now();
  expect_refused({"data", "info", "--data", "folder:" + dir + "/bomb"},
                 dir + "/bomb/a.bmp: an image of 100x16777216 pixels is larger than the limit");
  EXPECT_LT(seconds_since(start), 20.0);
  // 1 x 20000: small, until padded to a square.
  write_text(dir + "/thin/a.png", encode_png(torch::rand({1, 1, 20000})));
  start = std::chrono::steady_clock::now();
  expect_refused({"data", "info", "--data", "folder:" + dir + "/thin"},
                 dir + "/thin/a.png: 20000x1 images padded to 20000x20000");
  EXPECT_LT(seconds_since(start), 20.0);
  // The limit is an option.
  write_text(dir + "/small/a.png", encode_png(torch::rand({3, 16, 16})));
  ASSERT_EQ(run_ddim({"data", "info", "--data", "folder:" + dir + "/small"}).status, 0);
  expect_refused({"--max-image-pixels", "100", "data", "info", "--data", "folder:" + dir + "/small"},
                 dir + "/small/a.png: an image of 16x16 pixels is larger than the limit of 100 pixels");
}

TEST(CliHostile, BrokenConfigsAreUsageErrorsNamingFileLineAndKey) {
  const auto dir = scratch_dir();
  const auto model = tiny_model(dir);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[data]\n[data.info\nlimit = 2\n", "c.toml:2: unclosed table header '[data.info'"},
      {"[trian]\nsteps = 5\n", "c.toml:1: unknown table [trian]: ddim has no command 'trian'"},
      {"[data.inof]\n", "c.toml:1: unknown table [data.inof]: ddim data has no command 'inof'"},
      {"[sample]\nstepz = 5\n", "c.toml:2: unknown key 'stepz' in [sample]"},
      {"thredas = 2\n", "c.toml:1: unknown key 'thredas' in the top level"},
      {"[sample]\nsteps = \"ten\"\n",
       "c.toml:2: key 'steps' in [sample] expects an integer, got a string 'ten'"},
      {"[sample]\nsteps = 2.5\n", "c.toml:2: key 'steps' in [sample] expects an integer, got a number '2.5'"},
      {"[sample]\nbf16 = 1\n", "c.toml:2: key 'bf16' in [sample] expects true or false"},
      {"[train]\nwidths = \"16,x\"\n",
       "c.toml:2: key 'widths' in [train] expects an integer, got a string 'x'"},
      {"seed = -1\n", "c.toml:1: key 'seed' in the top level expects a non-negative integer"},
  };
  for (const auto& [text, part] : cases) {
    write_text(dir + "/c.toml", text);
    expect_refused({"--config", dir + "/c.toml", "sample", "--model", model, "--out", dir + "/out"}, part);
    EXPECT_FALSE(anything_in(dir + "/out"));
  }
  // What ddim writes, it reads: a run's config.toml repeats the run.
  auto r = run_ddim({"sample", "--model", model, "--n", "2", "--steps", "2", "--out", dir + "/a"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_ddim({"--config", dir + "/a/config.toml", "sample", "--out", dir + "/b"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(torch::equal(load_tensor(dir + "/a/samples.pt"), load_tensor(dir + "/b/samples.pt")));
  // The presets are accepted (the run then fails for want of the run directory, after parsing).
  for (const auto& e : std::filesystem::directory_iterator(source_dir() + "/configs")) {
    if (e.path().extension() != ".toml") continue;
    r = run_ddim({"--config", e.path().string(), "train", "--resume", dir + "/no-such-run"});
    EXPECT_EQ(r.status, 1) << e.path() << r.err;
    EXPECT_NE(last_line(r.err).find("no such run directory"), std::string::npos) << e.path() << r.err;
  }
}

namespace {

// A data set is a file from other people: its numbers are checked against the files there
// are before they drive any loop or allocation. Each fault ends in one line and status 1, at
// once (the bound is a hang detector for a loader that would count to 10^15 or parse a
// million rows; the refusals take a fraction of a second).
void expect_one_line_error(const std::vector<std::string>& args, const std::string& part) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_ddim(args);
  EXPECT_LT(seconds_since(start), 10.0) << part;
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
}

// A faces set as `ddim data render-faces` writes one (faces.json, train/ and test/ by index,
// attributes.csv), of ten 16x16 faces, crafted without the renderer.
std::string crafted_face_set(const std::string& dir, const std::string& count = "10") {
  write_text(dir + "/faces.json", "{\"format\": 1, \"size\": 16, \"count\": " + count +
                                      ", \"seed\": 0, \"p\": {}, \"uniform\": [], \"attributes\": "
                                      "[{\"name\": \"male\", \"values\": [\"no\", \"yes\"]}]}");
  std::string rows = "file,male\n";
  for (int i = 0; i < 10; ++i) {
    const auto file = fmt::format("{}/{:06d}.png", i % 10 == 9 ? "test" : "train", i);
    write_text(dir + "/" + file, encode_png(torch::rand({3, 16, 16})));
    rows += fmt::format("{},{}\n", file, i % 2 ? "yes" : "no");
  }
  write_text(dir + "/attributes.csv", rows);
  return "faces:" + dir;
}

}  // namespace

TEST(CliHostile, ADataSetsNumbersAreCheckedAgainstItsFilesBeforeTheyDriveTheWork) {
  const auto dir = scratch_dir();
  auto r = run_ddim({"data", "info", "--data", crafted_face_set(dir + "/good")});
  ASSERT_EQ(r.status, 0) << r.err;  // the crafted set is a good one
  // A huge count: compared with the files, not counted up to.
  for (const std::string count : {"1000000000000000", "9223372036854775807"})
    expect_one_line_error({"data", "info", "--data", crafted_face_set(dir + "/huge-" + count, count)},
                          "train/ holds 9 images but faces.json counts");
  // A count that disagrees with the files.
  expect_one_line_error({"data", "info", "--data", crafted_face_set(dir + "/eleven", "11")},
                        "train/ holds 9 images but faces.json counts 10 there");  // 11 faces: 1 in test/
  expect_one_line_error({"data", "info", "--data", crafted_face_set(dir + "/eight", "8")},
                        "train/ holds 9 images but faces.json counts 8 there");
  // A count that is not an integer.
  expect_one_line_error({"data", "info", "--data", crafted_face_set(dir + "/real", "1e3")},
                        "faces.json: count must be an integer, got 1000.0");
  // A huge label table: a million rows for ten faces, refused before its rows are parsed.
  const auto set = crafted_face_set(dir + "/table");
  std::string rows = "file,male\n";
  for (int i = 0; i < 1000000; ++i) rows += fmt::format("train/{:06d}.png,no\n", i);
  write_text(dir + "/table/attributes.csv", rows);
  expect_one_line_error({"data", "info", "--data", set},
                        "attributes.csv: more rows than the 10 images there are to label");
  // The same for an image folder's attributes file, and a CelebA count beyond its images.
  for (int i = 0; i < 3; ++i)
    write_text(fmt::format("{}/folder/{}.png", dir, i), encode_png(torch::rand({3, 8, 8})));
  write_text(dir + "/labels.csv", rows);
  expect_one_line_error(
      {"data", "info", "--data", "folder:" + dir + "/folder", "--attributes", dir + "/labels.csv"},
      "labels.csv: more rows than the 3 images there are to label");
  write_text(dir + "/celeba.txt", "999999999999\nMale\n0.png 1\n");
  expect_one_line_error(
      {"data", "info", "--data", "folder:" + dir + "/folder", "--attributes", dir + "/celeba.txt"},
      "celeba.txt:1: declares 999999999999 images but there are only 3 to label");
}

TEST(CliHostile, SigtermDuringTheFinalPreviewExitsPromptlyWithTheCheckpointWritten) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir + "/mnist", 16, 4);
  auto args = std::vector<std::string>{"train",   "--data", "mnist:" + dir + "/mnist", "--out", dir + "/run",
                                       "--steps", "2",      "--checkpoint-every",      "2"};
  for (const auto& a : tiny_unet_args()) args.push_back(a);
  // The preview grid: a million sampling steps, far longer than the test.
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--preview-steps") args[i + 1] = "1000000";
  const int pid = spawn_ddim(args, dir + "/train");
  for (int i = 0; i < 1200 && !file_exists(dir + "/run/model.pt"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (!file_exists(dir + "/run/model.pt")) ::kill(pid, SIGKILL);
  ASSERT_TRUE(file_exists(dir + "/run/model.pt")) << read_text(dir + "/train.err");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // well into the preview
  const auto start = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_at_most(pid, 30), 143) << read_text(dir + "/train.err");
  EXPECT_LT(seconds_since(start), 10.0);
  EXPECT_EQ(load_checkpoint(dir + "/run/model.pt").meta["step"], 2);
  EXPECT_NE(read_text(dir + "/train.err").find("stopped by signal 15 at step 2"), std::string::npos)
      << read_text(dir + "/train.err");
}

TEST(CliHostile, SigtermDuringSamplingExitsPromptlyWithoutHalfWrittenFiles) {
  const auto dir = scratch_dir();
  const auto model = tiny_model(dir);
  const int pid = spawn_ddim({"sample", "--model", model, "--n", "100000", "--steps", "1000", "--batch", "16",
                              "--threads", "1", "--out", dir + "/out"},
                             dir + "/sample");
  for (int i = 0; i < 600 && !file_exists(dir + "/out/log.txt"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (!file_exists(dir + "/out/log.txt")) ::kill(pid, SIGKILL);
  ASSERT_TRUE(file_exists(dir + "/out/log.txt")) << read_text(dir + "/sample.err");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_at_most(pid, 30), 143) << read_text(dir + "/sample.err");
  EXPECT_LT(seconds_since(start), 10.0);
  EXPECT_NE(last_line(read_text(dir + "/sample.err")).find("interrupted (SIGTERM); stopped"),
            std::string::npos)
      << read_text(dir + "/sample.err");
  for (const auto& e : std::filesystem::directory_iterator(dir + "/out")) {
    const auto name = e.path().filename().string();
    EXPECT_TRUE(name == "config.toml" || name == "log.txt") << name;  // no samples, no temporary files
  }
}
