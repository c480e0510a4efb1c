// The models that ship in models/ (models/README.md) still do their jobs: a change of the file
// format, the network or the sampler that breaks the shipped weights fails here. Every draw is
// seeded, so a failure is a regression, not noise; the pinned bounds sit about twice as far as
// the values measured when the weights were shipped (models/README.md gives those).
#include <gtest/gtest.h>

#include "ddim/ddim.h"
#include "support.h"

namespace ddim {
namespace {

// Fixed-point inversion's (K = 3, S = 10) reconstruction MSE of the first 16 test images, pinned
// at about twice the shipped model's 0.00791.
constexpr double kPinnedInversionMse = 0.016;

std::string shipped(const std::string& name) { return test::source_dir() + "/models/" + name; }

struct ShippedFashionMnist {
  std::string path = shipped("fashion-mnist.pt");
  Checkpoint checkpoint = load_checkpoint(path);
  Denoiser denoiser = denoiser_from_checkpoint(checkpoint, path);
};

// The first n test images of a model's data set, padded as it was trained.
Dataset test_split(const DataInfo& model, int64_t n) {
  DataSource source;
  source.spec = model.spec;
  source.options.split = Split::Test;
  source.options.limit = n;
  return source.load();
}

// Images in the model's shape -> the classifier's input (padding cropped, then the classifier's).
torch::Tensor for_classifier(const torch::Tensor& images, const DataInfo& model, const DataInfo& classifier) {
  const auto cropped = model.crop(images);
  std::vector<torch::Tensor> v;
  for (int64_t i = 0; i < cropped.size(0); ++i) v.push_back(cropped[i]);
  return conform_images(v, classifier);
}

TEST(ShippedModels, TheFashionMnistFilesAreReleasesThatLoadThroughTheValidatedReader) {
  const ShippedFashionMnist m;
  EXPECT_TRUE(m.checkpoint.meta.value("released", false));
  EXPECT_EQ(m.denoiser.data().shape, (std::vector<int64_t>{1, 32, 32}));
  const auto c = load_classifier(shipped("fashion-mnist-classifier.pt"));
  EXPECT_EQ(c.data.classes.size(), 10u);
}

TEST(ShippedModels, TheFashionMnistClassifierReadsTheTestSet) {
  auto c = load_classifier(shipped("fashion-mnist-classifier.pt"));
  const auto test = test_split(c.data, 2000);
  // 91.47% on the whole test split when shipped (models/README.md).
  EXPECT_GT(classifier_accuracy(*c.network, test.all(), test.labels), 0.88);
}

// The denoiser's samples are garments: the shipped classifier names a class for each with high
// confidence, and the samples spread over the classes (a collapsed or noisy model fails both).
// Shipped: mean confidence 0.870 over 64 samples (S = 10), all 10 classes present.
TEST(ShippedModels, FashionMnistSamplesAreGarmentsTheClassifierIsSureOf) {
  const ShippedFashionMnist m;
  auto c = load_classifier(shipped("fashion-mnist-classifier.pt"));
  auto gen = make_generator(0);
  const auto seeds = randn({64, 1, 32, 32}, gen);
  const auto samples = generate(m.denoiser, seeds, make_time_grid(m.denoiser.schedule(), 10), {}, 64);
  torch::NoGradGuard no_grad;
  const auto probs =
      torch::softmax(c.network->forward(for_classifier(samples, m.denoiser.data(), c.data)), 1);
  const auto [confidence, classes] = probs.max(1);
  EXPECT_GT(confidence.mean().item<double>(), 0.80);
  EXPECT_GE((torch::bincount(classes, {}, 10) > 0).sum().item<int64_t>(), 8);
}

// Fixed-point inversion (K = 3, S = 10) of test images decodes back to them: the seed paper's
// embedding by the model's own inverse, no training needed.
TEST(ShippedModels, FashionMnistTestImagesInvertWithinThePinnedError) {
  const ShippedFashionMnist m;
  const auto images = test_split(m.denoiser.data(), 16).all();
  EmbedOptions options;
  options.method = EmbedMethod::FixedPoint;
  options.steps = 10;
  options.iterations = 3;
  const auto embedding = embed_images(m.denoiser, images, options);
  const auto decoded = generate(m.denoiser, embedding.seeds, options.grid(m.denoiser.schedule()), {}, 16);
  const auto& data = m.denoiser.data();
  const double mse = mse_per_image(data.crop(decoded), data.crop(images)).mean().item<double>();
  EXPECT_LT(mse, kPinnedInversionMse);
}

}  // namespace
}  // namespace ddim
