#include <array>

#include "ddim/core/error.h"
#include "ddim/data/dataset.h"
#include "ddim/data/normalization.h"
#include "ddim/data/toy.h"
#include "ddim/io/image.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

class DatasetTest : public SeededTest {};

TEST_F(DatasetTest, SpecParsing) {
  auto s = parse_data_spec("fashion-mnist");
  EXPECT_EQ(s.name, "fashion-mnist");
  EXPECT_EQ(s.path, "/usr/share/datasets/fashion-mnist");
  s = parse_data_spec("folder:/a/b:c");
  EXPECT_EQ(s.name, "folder");
  EXPECT_EQ(s.path, "/a/b:c");
  try {
    parse_data_spec("imagenet:/x");
    FAIL();
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("unknown dataset 'imagenet'"), std::string::npos);
    for (const auto& name :
         {"fashion-mnist", "mnist:DIR", "cifar10:DIR", "folder:DIR", "toy:", "fonts[:FONT_DIR]"})
      EXPECT_NE(msg.find(name), std::string::npos) << name;
  }
  s = parse_data_spec("fonts");
  EXPECT_EQ(s.name, "fonts");
  EXPECT_EQ(s.path, "");
  EXPECT_EQ(parse_data_spec("fonts:/my/fonts").path, "/my/fonts");
  EXPECT_THROW(parse_data_spec("mnist"), InvalidArgument);
  EXPECT_THROW(parse_data_spec("toy:spiral"), InvalidArgument);
}

TEST_F(DatasetTest, MnistFixtureLoadsSplitsPadsAndLimits) {
  const auto dir = scratch_dir();
  auto images = write_mnist_fixture(dir, 12, 5);
  DataOptions o;
  auto train = load_dataset(parse_data_spec("mnist:" + dir), o);
  ASSERT_EQ(train.size(), 12);
  EXPECT_EQ(train.example_shape(), (std::vector<int64_t>{1, 32, 32}));
  EXPECT_EQ(train.padding.top, 2);
  // The padding crops back to the original pixels, and the border is zero.
  auto x = train.all();
  EXPECT_TRUE(torch::equal(train.padding.crop(x).mul(255).round().to(torch::kUInt8).squeeze(1),
                           images.narrow(0, 0, 12)));
  EXPECT_EQ(x.narrow(2, 0, 2).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(train.labels[3].item<int64_t>(), 3);

  o.split = Split::Test;
  o.pad_to = 0;
  o.limit = 3;
  auto test = load_dataset(parse_data_spec("mnist:" + dir), o);
  ASSERT_EQ(test.size(), 3);
  EXPECT_EQ(test.example_shape(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_TRUE(torch::equal(test.storage.squeeze(1), images.narrow(0, 12, 3)));

  o.split = Split::All;
  o.limit = 0;
  EXPECT_EQ(load_dataset(parse_data_spec("mnist:" + dir), o).size(), 17);
}

TEST_F(DatasetTest, MnistLabelCountMismatchIsRefused) {
  const auto dir = scratch_dir();
  write_mnist_fixture(dir, 6, 2, /*gz=*/false);
  write_bytes(dir + "/train-labels-idx1-ubyte", idx_bytes(torch::zeros({5}, torch::kUInt8)));
  EXPECT_THROW(load_dataset(parse_data_spec("mnist:" + dir), {}), Error);
}

TEST_F(DatasetTest, Cifar10FixtureLoadsAndWrongSizeIsRefused) {
  const auto dir = scratch_dir();
  std::vector<torch::Tensor> parts;
  for (int i = 1; i <= 5; ++i)
    parts.push_back(write_cifar_fixture(fmt::format("{}/data_batch_{}.bin", dir, i), 4, i));
  auto test_images = write_cifar_fixture(dir + "/test_batch.bin", 3, 9);
  auto train = load_dataset(parse_data_spec("cifar10:" + dir), {});
  ASSERT_EQ(train.size(), 20);
  EXPECT_EQ(train.example_shape(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_TRUE(torch::equal(train.storage, torch::cat(parts)));
  EXPECT_EQ(train.classes.at(train.labels[1].item<int64_t>()), "automobile");
  DataOptions o;
  o.split = Split::Test;
  EXPECT_TRUE(torch::equal(load_dataset(parse_data_spec("cifar10:" + dir), o).storage, test_images));

  auto bytes = read_bytes(dir + "/data_batch_2.bin");
  bytes.resize(bytes.size() - 100);
  write_bytes(dir + "/data_batch_2.bin", bytes);
  try {
    load_dataset(parse_data_spec("cifar10:" + dir), {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data_batch_2.bin: not a CIFAR-10 batch"), std::string::npos)
        << e.what();
  }
}

TEST_F(DatasetTest, FolderIsRecursiveSortedAndCropsAndResizes) {
  const auto dir = scratch_dir();
  auto a = torch::rand({3, 20, 24});
  auto b = torch::rand({1, 20, 24});
  write_png(dir + "/z/b.png", b);
  write_png(dir + "/a.png", a);
  write_text(dir + "/notes.txt", "not an image");
  DataOptions o;
  o.crop = 16;
  o.resize = 8;
  auto ds = load_dataset(parse_data_spec("folder:" + dir), o);
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.example_shape(), (std::vector<int64_t>{3, 8, 8}));  // one RGB file makes all RGB
  auto first = ds.slice(0, 1)[0];
  auto expect = resize_image(center_crop(decode_image(read_bytes(dir + "/a.png"), "a"), 16), 8, 8);
  EXPECT_LT((first - expect).abs().max().item<float>(), 1.0 / 255 + 1e-6);
  EXPECT_FALSE(ds.labels.defined());
}

TEST_F(DatasetTest, FolderErrors) {
  const auto dir = scratch_dir();
  std::filesystem::create_directories(dir + "/empty");
  EXPECT_THROW(load_dataset(parse_data_spec("folder:" + dir + "/empty"), {}), Error);
  write_png(dir + "/mixed/a.png", torch::rand({1, 8, 8}));
  write_png(dir + "/mixed/b.png", torch::rand({1, 9, 8}));
  try {
    load_dataset(parse_data_spec("folder:" + dir + "/mixed"), {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("b.png: image is 8x9"), std::string::npos) << e.what();
  }
  DataOptions o;
  o.split = Split::Test;
  EXPECT_THROW(load_dataset(parse_data_spec("folder:" + dir + "/mixed"), o), InvalidArgument);
}

TEST_F(DatasetTest, FolderWithTrainAndTestSubfolders) {
  const auto dir = scratch_dir();
  for (int i = 0; i < 3; ++i) write_png(fmt::format("{}/train/{}.png", dir, i), torch::rand({1, 8, 8}));
  write_png(dir + "/test/0.png", torch::rand({1, 8, 8}));
  DataOptions o;
  EXPECT_EQ(load_dataset(parse_data_spec("folder:" + dir), o).size(), 3);
  o.split = Split::Test;
  EXPECT_EQ(load_dataset(parse_data_spec("folder:" + dir), o).size(), 1);
}

TEST_F(DatasetTest, FolderWithOneSubfolderPerClassIsLabelledByName) {
  const auto dir = scratch_dir();
  // test/ lacks "cat": labels are still indices into the classes of both splits.
  write_png(dir + "/train/dog/1.png", torch::full({1, 8, 8}, 0.75));
  write_png(dir + "/train/cat/1.png", torch::full({1, 8, 8}, 0.25));
  write_png(dir + "/train/cat/2.png", torch::full({1, 8, 8}, 0.25));
  write_png(dir + "/train/emu/deep/1.png", torch::full({1, 8, 8}, 0.5));
  write_png(dir + "/test/dog/9.png", torch::full({1, 8, 8}, 0.75));
  DataOptions o;
  auto train = load_dataset(parse_data_spec("folder:" + dir), o);
  EXPECT_EQ(train.classes, (std::vector<std::string>{"cat", "dog", "emu"}));
  ASSERT_TRUE(train.labels.defined());
  ASSERT_EQ(train.size(), 4);
  // Files are sorted by path: cat/1, cat/2, dog/1, emu/deep/1.
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({0, 0, 1, 2}, torch::kInt64)));
  const auto images = train.slice(0, 4);
  for (int64_t i = 0; i < 4; ++i) {
    const float expect = std::array<float, 4>{0.25f, 0.25f, 0.75f, 0.5f}[static_cast<size_t>(i)];
    EXPECT_NEAR(images[i].mean().item<float>(), expect, 1.0 / 255) << i;
  }
  o.split = Split::Test;
  auto test = load_dataset(parse_data_spec("folder:" + dir), o);
  EXPECT_EQ(test.classes, train.classes);
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({1}, torch::kInt64)));
  // One sub-folder is not a classification; neither is an image beside the sub-folders.
  write_png(dir + "/one/only/a.png", torch::rand({1, 8, 8}));
  EXPECT_FALSE(load_dataset(parse_data_spec("folder:" + dir + "/one"), {}).labels.defined());
  write_png(dir + "/loose/a/a.png", torch::rand({1, 8, 8}));
  write_png(dir + "/loose/b/b.png", torch::rand({1, 8, 8}));
  write_png(dir + "/loose/c.png", torch::rand({1, 8, 8}));
  EXPECT_FALSE(load_dataset(parse_data_spec("folder:" + dir + "/loose"), {}).labels.defined());
}

TEST_F(DatasetTest, ToySetsAreDeterministicPerSeedAndSplit) {
  DataOptions o;
  o.seed = 7;
  o.toy_size = 500;
  auto a = load_dataset(parse_data_spec("toy:two-moons"), o);
  auto b = load_dataset(parse_data_spec("toy:two-moons"), o);
  EXPECT_TRUE(torch::equal(a.storage, b.storage));
  EXPECT_EQ(a.example_shape(), (std::vector<int64_t>{2}));
  o.seed = 8;
  EXPECT_FALSE(torch::equal(a.storage, load_dataset(parse_data_spec("toy:two-moons"), o).storage));
  o.seed = 7;
  o.split = Split::Test;
  EXPECT_FALSE(torch::equal(a.storage, load_dataset(parse_data_spec("toy:two-moons"), o).storage));

  // Circles: radii 1 and 0.5, half the points each (jitter 0.03).
  auto circles = make_toy_points("circles", 4000, 1);
  auto r = circles.norm(2, 1);
  EXPECT_NEAR(r.gt(0.75).to(torch::kFloat32).mean().item<float>(), 0.5, 0.01);
  EXPECT_LT(
      (r - torch::where(r > 0.75, torch::ones_like(r), 0.5 * torch::ones_like(r))).abs().max().item<float>(),
      0.2);
  // Gaussian: empirical moments match the stated ones.
  auto g = make_toy_points("gaussian", 200000, 3);
  EXPECT_TRUE(torch::allclose(g.mean(0), toy_gaussian_mean(), 0, 0.01));
  auto centred = g - g.mean(0);
  EXPECT_TRUE(torch::allclose(centred.t().matmul(centred) / g.size(0), toy_gaussian_covariance(), 0, 0.01));
}

TEST_F(DatasetTest, StandardizerRoundTripsAndMatchesMoments) {
  auto x = torch::randn({100, 3, 4, 4}) * torch::tensor({1.0f, 2.0f, 0.5f}).view({1, 3, 1, 1}) +
           torch::tensor({0.1f, -1.0f, 3.0f}).view({1, 3, 1, 1});
  auto s = Standardizer::fit(x);
  auto z = s.standardize(x);
  EXPECT_TRUE(torch::allclose(z.mean({0, 2, 3}), torch::zeros({3}), 0, 1e-4));
  EXPECT_TRUE(torch::allclose(z.transpose(0, 1).reshape({3, -1}).std(1, false), torch::ones({3}), 0, 1e-4));
  EXPECT_TRUE(torch::allclose(s.destandardize(z), x, 1e-5, 1e-5));
  EXPECT_THROW(s.standardize(torch::zeros({2, 1, 4, 4})), InvalidArgument);
}
