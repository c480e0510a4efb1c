// The `ddim` binary: help, `data info`, `data grid`, and every bad-input case of the
// foundation issue (one clear line, exit 2 for usage errors and 1 otherwise, no output file).
#include <nlohmann/json.hpp>

#include <set>

#include "ddim/io/image.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

TEST(CliData, HelpListsCommandsAndExitsZero) {
  auto r = run_ddim({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("data"), std::string::npos);
  EXPECT_NE(r.out.find("--threads"), std::string::npos);
  r = run_ddim({"data", "grid", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--n"), std::string::npos);
  EXPECT_NE(r.out.find("=64"), std::string::npos);  // defaults are shown
  r = run_ddim({});
  EXPECT_EQ(r.status, 2);
}

// An unknown command word is named, with the nearest command or where a former command went;
// options before it (and their values) are skipped, and nested commands are checked too.
TEST(CliData, UnknownCommandsAreNamed) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const auto& c :
       std::vector<Case>{{{"embed", "--model", "m.pt"},
                          "error: 'embed' is not a command of ddim; it became 'ddim reconstruct --embedder"},
                         {{"--threads", "1", "smaple"},
                          "error: 'smaple' is not a command of ddim; the nearest is 'ddim sample'"},
                         {{"--seed=3", "data", "inof"},
                          "error: 'inof' is not a command of ddim data; the nearest is 'ddim data info'"},
                         {{"analyze", "--threads", "2", "independance"},
                          "error: 'independance' is not a command of ddim analyze; the nearest is 'ddim "
                          "analyze independence'"},
                         {{"zzzzzzzz"}, "error: 'zzzzzzzz' is not a command of ddim (see --help)"}}) {
    const auto r = run_ddim(c.args);
    EXPECT_EQ(r.status, 2) << c.message;
    EXPECT_EQ(last_line(r.err).rfind(c.message, 0), 0u) << "got: " << r.err;
  }
  // A known command with a word in its arguments' place is not an unknown command.
  const auto r = run_ddim({"data", "info", "--data", "toy:circles"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(CliData, InfoOnAFixtureReportsCountsAndShape) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir, 30, 10);
  auto r = run_ddim({"data", "info", "--data", "mnist:" + dir, "--split", "all", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["examples"], 40);
  EXPECT_EQ(j["shape"], (std::vector<int64_t>{1, 32, 32}));
  EXPECT_EQ(j["classes"]["7"], 4);
  EXPECT_GE(j["min"].get<double>(), 0.0);
  EXPECT_LE(j["max"].get<double>(), 1.0);
  r = run_ddim({"data", "info", "--data", "mnist:" + dir});
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("examples     30"), std::string::npos) << r.out;
}

TEST(CliData, GridWritesAPngOfTheRightSize) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir, 20, 2);
  auto r = run_ddim(
      {"data", "grid", "--data", "mnist:" + dir, "--n", "6", "--columns", "3", "--out", dir + "/g.png"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto img = read_image(dir + "/g.png");
  // 3 columns x 2 rows of 32x32 tiles with 2 px padding.
  EXPECT_EQ(img.sizes(), (std::vector<int64_t>{1, 2 + 2 * 34, 2 + 3 * 34}));
}

TEST(CliData, GridOfAToySetIsAScatterPlot) {
  const auto dir = scratch_dir();
  auto r = run_ddim({"data", "grid", "--data", "toy:circles", "--out", dir + "/c.png"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_image(dir + "/c.png").size(0), 3);
}

TEST(CliData, WhereSelectsASubsetByAttributeValues) {
  // Repeated --where options, a range and a list: capitals A..C, small, two fonts.
  auto r = run_ddim({"data", "info", "--data", "fonts", "--where", "letter=A..C", "--where", "size=small",
                     "--where", "font=FreeMono,Purisa", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const auto& a = j["attributes"];
  auto nonzero = [](const nlohmann::json& counts) {
    std::vector<size_t> out;
    for (size_t k = 0; k < counts.size(); ++k)
      if (counts[k].get<int64_t>() > 0) out.push_back(k);
    return out;
  };
  EXPECT_EQ(nonzero(a[0]["counts"]), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(nonzero(a[1]["counts"]), (std::vector<size_t>{0}));
  EXPECT_EQ(nonzero(a[4]["counts"]).size(), 2u);
  // 3 letters x 1 size x 100 colour pairs x 2 fonts, of which the training split's ~80%.
  EXPECT_GT(j["examples"].get<int64_t>(), 400);
  EXPECT_LT(j["examples"].get<int64_t>(), 560);
  r = run_ddim({"data", "info", "--data", "fonts", "--where", "letter=A..c!"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("'c!' is not a value of letter"), std::string::npos) << r.err;
  r = run_ddim({"train", "--data", "fonts", "--limit", "8", "--encoder-head", "flatten", "--out",
                scratch_dir() + "/unet"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--encoder-head flatten is the semantic encoder's, for --arch diffae"),
            std::string::npos)
      << r.err;
}

TEST(CliData, InfoOnFontsListsTheAttributes) {
  auto r = run_ddim({"data", "info", "--data", "fonts", "--split", "test", "--limit", "300", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["examples"], 300);
  EXPECT_EQ(j["shape"], (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(j["class_attribute"], "letter");
  ASSERT_EQ(j["attributes"].size(), 5u);
  const std::vector<std::pair<std::string, size_t>> expected = {
      {"letter", 52}, {"size", 3}, {"font_colour", 10}, {"background_colour", 10}, {"font", 24}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& a = j["attributes"][i];
    EXPECT_EQ(a["name"], expected[i].first);
    EXPECT_EQ(a["values"].size(), expected[i].second);
    int64_t total = 0;
    for (const auto& c : a["counts"]) total += c.get<int64_t>();
    EXPECT_EQ(total, 300) << a["name"];
  }
  EXPECT_EQ(j["attributes"][4]["values"][0], "Caladea-Bold");
  EXPECT_EQ(j["classes"].size(), 52u);

  r = run_ddim({"data", "info", "--data", "fonts", "--limit", "50", "--class-attribute", "font_colour"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("attributes   letter: 52 values (A, B, C, D, E, F, G, H, ...)"), std::string::npos)
      << r.out;
  EXPECT_NE(
      r.out.find("font_colour: 10 values (black, white, red, green, blue, yellow, cyan, magenta, ...), the "
                 "class label"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("font: 24 values"), std::string::npos) << r.out;
}

// The faces set through the tool: render a small set, then `data info` lists every attribute
// with counts that add up to the split; bad options fail before anything is written.
TEST(CliData, RenderFacesThenInfoListsTheAttributes) {
  const auto scratch = scratch_dir();
  const auto dir = scratch + "/faces";
  auto r = run_ddim({"data", "render-faces", "--out", dir, "--size", "24", "--count", "30", "--p",
                     "eyeglasses=0.5", "--uniform", "hair_colour", "--jobs", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("wrote 30 faces of 24x24 to " + dir), std::string::npos) << r.err;
  for (const auto* f : {"/faces.json", "/attributes.csv", "/README.md", "/LICENSE.facesjs",
                        "/train/000000.png", "/test/000009.png"})
    EXPECT_TRUE(file_exists(dir + f)) << f;
  r = run_ddim({"data", "info", "--data", "faces:" + dir, "--pad-to", "0", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["examples"], 27);
  EXPECT_EQ(j["shape"], (std::vector<int64_t>{3, 24, 24}));
  EXPECT_EQ(j["class_attribute"], "male");
  std::set<std::string> names;
  for (const auto& a : j["attributes"]) {
    names.insert(a["name"].get<std::string>());
    int64_t total = 0;
    for (const auto& c : a["counts"]) total += c.get<int64_t>();
    EXPECT_EQ(total, 27) << a["name"];
  }
  for (const auto* name :
       {"male", "eyeglasses", "glasses", "beard", "no_beard", "smiling", "hair_colour", "black_hair",
        "blond_hair", "brown_hair", "red_hair", "bald", "hair_style", "skin_tone"})
    EXPECT_EQ(names.count(name), 1u) << name;
  // The same faces again (another folder): the same bytes.
  const auto again = scratch + "/again";
  r = run_ddim({"data", "render-faces", "--out", again, "--size", "24", "--count", "30", "--p",
                "eyeglasses=0.5", "--uniform", "hair_colour"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_bytes(again + "/test/000019.png"), read_bytes(dir + "/test/000019.png"));
  EXPECT_EQ(read_text(again + "/attributes.csv"), read_text(dir + "/attributes.csv"));
  // Counterfactual pictures: a row of originals, then a row per value.
  r = run_ddim({"data", "counterfactuals", "--data", "faces:" + dir, "--attribute", "eyeglasses", "--n", "4",
                "--out", scratch + "/cf.png"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto picture = read_image(scratch + "/cf.png");
  r = run_ddim({"data", "counterfactuals", "--data", "faces:" + dir, "--attribute", "hair_colour", "--values",
                "auburn", "--n", "4", "--out", scratch + "/cf1.png"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GT(picture.size(1), read_image(scratch + "/cf1.png").size(1));  // three rows against two
  r = run_ddim({"data", "counterfactuals", "--data", "faces:" + dir, "--attribute", "wings", "--out",
                scratch + "/cf2.png"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(last_line(r.err).find("unknown attribute 'wings'"), std::string::npos) << r.err;
  EXPECT_FALSE(file_exists(scratch + "/cf2.png"));
  // A named folder that holds no set is not rendered behind the user's back.
  r = run_ddim({"data", "info", "--data", "faces:" + scratch + "/nothing"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(last_line(r.err).find("no such directory"), std::string::npos) << r.err;
}

TEST(CliData, RenderFacesRefusesBadOptions) {
  const auto dir = scratch_dir() + "/faces";
  struct Case {
    std::vector<std::string> extra;
    std::string message;
  };
  for (const auto& c : std::vector<Case>{{{"--size", "8"}, "--size"},
                                         {{"--p", "wings=0.5"}, "unknown attribute 'wings'"},
                                         {{"--p", "eyeglasses=1.5"}, "eyeglasses"},
                                         {{"--p", "eyeglasses"}, "expected NAME=PROBABILITY"},
                                         {{"--uniform", "male"}, "--uniform: unknown attribute 'male'"},
                                         {{"--count", "0"}, "--count"}}) {
    std::vector<std::string> args = {"data", "render-faces", "--out", dir};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const auto r = run_ddim(args);
    EXPECT_EQ(r.status, 2) << c.message << ": " << r.err;
    EXPECT_NE(last_line(r.err).find(c.message), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(dir)) << c.message;
  }
}

TEST(CliData, GridOfFontsAt64) {
  const auto dir = scratch_dir();
  auto r = run_ddim({"data", "grid", "--data", "fonts", "--resize", "64", "--n", "8", "--columns", "4",
                     "--out", dir + "/f.png"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto img = read_image(dir + "/f.png");
  EXPECT_EQ(img.sizes(), (std::vector<int64_t>{3, 2 + 2 * 66, 2 + 4 * 66}));
}

TEST(CliData, FolderAttributesGiveTheClassLabel) {
  const auto dir = scratch_dir();
  write_png(dir + "/img/a.png", torch::rand({3, 8, 8}));
  write_png(dir + "/img/b.png", torch::rand({3, 8, 8}));
  write_text(dir + "/attrs.csv", "file,smile,hat\na.png,yes,no\nb.png,no,no\n");
  auto r = run_ddim({"data", "info", "--data", "folder:" + dir + "/img", "--attributes", dir + "/attrs.csv",
                     "--class-attribute", "smile", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["class_attribute"], "smile");
  EXPECT_EQ(j["classes"]["no"], 1);
  EXPECT_EQ(j["classes"]["yes"], 1);
  EXPECT_EQ(j["attributes"][1]["counts"], (std::vector<int64_t>{2}));
}

TEST(CliData, CudaOnACpuBuildFailsAtOnceWithAClearMessage) {
  if (at::hasCUDA()) GTEST_SKIP() << "this build has CUDA; the CPU-only message cannot appear";
  auto r = run_ddim({"data", "info", "--data", "toy:circles", "--device", "cuda"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("this build of ddim has no CUDA support"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

struct BadInput {
  std::string name;
  std::function<std::vector<std::string>(const std::string& dir)> setup;  // returns the args
  int status;
  std::string message;  // must appear in the last stderr line
};

// Test names show the case name rather than the struct's bytes.
void PrintTo(const BadInput& b, std::ostream* os) { *os << b.name; }

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, OneClearLineNonZeroExitNoOutput) {
  const auto& c = GetParam();
  const auto dir = scratch_dir();
  auto args = c.setup(dir);
  args.push_back("--out");
  args.push_back(dir + "/out.png");
  auto r = run_ddim(args);
  EXPECT_EQ(r.status, c.status) << r.err;
  EXPECT_NE(last_line(r.err).find(c.message), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos);
  EXPECT_FALSE(file_exists(dir + "/out.png"));
}

std::vector<std::string> grid(const std::string& spec, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"data", "grid", "--data", spec};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Foundation, CliBadInput,
    ::testing::Values(
        BadInput{"MissingPath", [](const std::string& d) { return grid("mnist:" + d + "/nope"); }, 1,
                 "/nope: no such directory"},
        BadInput{"EmptyFolder",
                 [](const std::string& d) {
                   std::filesystem::create_directories(d + "/empty");
                   return grid("folder:" + d + "/empty");
                 },
                 1, "no PNG, JPEG or BMP images found"},
        BadInput{"TruncatedGz",
                 [](const std::string& d) {
                   write_mnist_fixture(d + "/m", 50, 5);
                   auto b = read_bytes(d + "/m/train-images-idx3-ubyte.gz");
                   b.resize(b.size() / 2);
                   write_bytes(d + "/m/train-images-idx3-ubyte.gz", b);
                   return grid("mnist:" + d + "/m");
                 },
                 1, "train-images-idx3-ubyte.gz: truncated gzip file"},
        BadInput{"WrongIdxMagic",
                 [](const std::string& d) {
                   write_mnist_fixture(d + "/m", 5, 5, false);
                   auto b = read_bytes(d + "/m/train-images-idx3-ubyte");
                   b[1] = 0x42;
                   write_bytes(d + "/m/train-images-idx3-ubyte", b);
                   return grid("mnist:" + d + "/m");
                 },
                 1, "not an IDX file (wrong magic number"},
        BadInput{"IdxSizeMismatch",
                 [](const std::string& d) {
                   write_mnist_fixture(d + "/m", 5, 5, false);
                   auto b = read_bytes(d + "/m/train-images-idx3-ubyte");
                   b.resize(b.size() - 28);
                   write_bytes(d + "/m/train-images-idx3-ubyte", b);
                   return grid("mnist:" + d + "/m");
                 },
                 1, "data bytes but the file has"},
        BadInput{"CifarWrongSize",
                 [](const std::string& d) {
                   for (int i = 1; i <= 5; ++i)
                     write_cifar_fixture(fmt::format("{}/c/data_batch_{}.bin", d, i), 2);
                   write_bytes(d + "/c/data_batch_3.bin", std::vector<char>(5000, 1));
                   return grid("cifar10:" + d + "/c");
                 },
                 1, "data_batch_3.bin: not a CIFAR-10 batch"},
        BadInput{"CorruptPng",
                 [](const std::string& d) {
                   write_png(d + "/f/a.png", torch::rand({3, 16, 16}));
                   auto b = read_bytes(d + "/f/a.png");
                   b[b.size() / 2] ^= 0x33;
                   write_bytes(d + "/f/a.png", b);
                   return grid("folder:" + d + "/f");
                 },
                 1, "a.png: corrupt PNG"},
        BadInput{"TruncatedJpeg",
                 [](const std::string& d) {
                   // A JPEG header and the start of a scan, cut before the end-of-image marker.
                   write_bytes(d + "/f/a.jpg", {'\xFF', '\xD8', '\xFF', '\xDA', 0, 8, 1, 2, 3, 4, 5, 6});
                   return grid("folder:" + d + "/f");
                 },
                 1, "a.jpg: truncated JPEG"},
        BadInput{"UnknownDataset", [](const std::string& d) { return grid("imagenet:" + d); }, 2,
                 "valid: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, folder:DIR, toy:"},
        BadInput{"ZeroCount",
                 [](const std::string& d) {
                   return grid("toy:circles", {"--n", "0"});
                 },
                 2, "--n: must be a positive number, got '0'"},
        BadInput{"NegativeLimit",
                 [](const std::string& d) {
                   return grid("toy:circles", {"--limit", "-3"});
                 },
                 2, "--limit"},
        BadInput{"NotANumber",
                 [](const std::string& d) {
                   return grid("toy:circles", {"--n", "many"});
                 },
                 2, "--n"},
        BadInput{"UnknownAttribute",
                 [](const std::string& d) {
                   return grid("fonts", {"--class-attribute", "colour"});
                 },
                 2,
                 "unknown attribute 'colour' of fonts (valid: letter, size, font_colour, background_colour, "
                 "font)"},
        BadInput{"NotAFont",
                 [](const std::string& d) {
                   write_text(d + "/fonts/broken.ttf", "not a font");
                   return grid("fonts:" + d + "/fonts");
                 },
                 1, "broken.ttf: not a TrueType or OpenType font"},
        BadInput{"NoFonts",
                 [](const std::string& d) {
                   std::filesystem::create_directories(d + "/fonts");
                   return grid("fonts:" + d + "/fonts");
                 },
                 1, "/fonts: no font files (.ttf or .otf) in the directory"},
        BadInput{"ImageWithoutAttributes",
                 [](const std::string& d) {
                   write_png(d + "/f/a.png", torch::rand({3, 8, 8}));
                   write_png(d + "/f/b.png", torch::rand({3, 8, 8}));
                   write_text(d + "/attrs.csv", "file,smile\na.png,yes\n");
                   return grid("folder:" + d + "/f", {"--attributes", d + "/attrs.csv"});
                 },
                 1, "/f/b.png: the image has no row in"},
        BadInput{"AttributesWithoutFolder",
                 [](const std::string& d) {
                   write_text(d + "/attrs.csv", "file,smile\na.png,yes\n");
                   return grid("fonts", {"--attributes", d + "/attrs.csv"});
                 },
                 2, "an attributes file goes with folder data, not fonts"},
        BadInput{"UnknownDevice",
                 [](const std::string& d) {
                   return grid("toy:circles", {"--device", "tpu"});
                 },
                 2, "unknown device 'tpu'"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

// `ddim bench sample --profile`: the JSON line gains the run's rate against the machine's, and
// the tables follow it, convolutions first among the groups of a U-Net.
TEST(CliBench, ProfilePrintsTheRateAndTheTables) {
  const auto r =
      run_ddim({"bench", "sample", "--profile", "--widths", "8,16", "--block-depth", "1", "--batch", "2",
                "--iters", "1", "--warmup", "0", "--steps", "2", "--image-size", "16", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  EXPECT_GT(j.at("gflop_per_iteration").get<double>(), 0);
  EXPECT_GT(j.at("gemm_gflop_s").get<double>(), 0);
  EXPECT_NEAR(j.at("fraction_of_gemm").get<double>(),
              j.at("gflop_s").get<double>() / j.at("gemm_gflop_s").get<double>(), 1e-9);
  EXPECT_NE(r.out.find("| group | share | ms per iteration | GFLOP/s |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| convolution |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| operator | calls | share | ms |"), std::string::npos) << r.out;
}
