// Class-conditional denoisers, classifier-free guidance (Ho & Salimans 2022) and editing by
// Direct Inversion and its baselines (editing.h).
#include <cmath>
#include <limits>

#include "ddim/analysis/evaluation.h"
#include "ddim/core/error.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/methods/editing.h"
#include "ddim/nn/unet.h"
#include "ddim/training/classifier_trainer.h"
#include "ddim/training/denoiser_trainer.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

UNetOptions tiny_conditional_unet() {
  UNetOptions u;
  u.widths = {8, 16};
  u.block_depth = 1;
  u.embedding_dims = 8;
  u.image_size = 8;
  u.groups = 4;
  u.classes = 2;
  u.cond_dim = 8;
  return u;
}

// Two well-separated classes of 8x8 images: the top half bright (0) or the bottom half (1),
// with some texture.
Dataset two_halves(int64_t n) {
  Dataset d;
  d.spec = "halves";
  auto gen = make_generator(17);
  auto x = (40 * rand({n, 1, 8, 8}, gen)).to(torch::kUInt8);
  d.labels = torch::arange(n).remainder(2);
  for (int64_t i = 0; i < n; ++i) x[i][0].narrow(0, d.labels[i].item<int64_t>() == 0 ? 0 : 4, 4).add_(170);
  d.storage = x;
  d.classes = {"top", "bottom"};
  return d;
}

}  // namespace

class Guidance : public SeededTest {};

TEST_F(Guidance, ClassConditionsAreOneHotWithANullClass) {
  const auto c = class_condition(torch::tensor({0, 2, -1}), 3);
  EXPECT_TRUE(
      torch::equal(c, torch::tensor({{1.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 1.f, 0.f}, {0.f, 0.f, 0.f, 1.f}})));
  EXPECT_TRUE(torch::equal(null_condition(2, 3), class_condition(torch::tensor({3, 3}), 3)));
  EXPECT_THROW(class_condition(torch::tensor({4}), 3), InvalidArgument);
}

TEST_F(Guidance, GuidanceOneIsTheConditionalEpsAndZeroTheUnconditional) {
  auto net = std::make_shared<UNet>(tiny_conditional_unet());
  {
    // The output layer starts at zero; give it weights so that the branches differ.
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters())
      if (p.key().rfind("head.", 0) == 0 || p.key().find("mod.") != std::string::npos)
        p.value().normal_(0, 0.3);
  }
  net->eval();
  DataInfo info;
  info.shape = {1, 8, 8};
  info.classes = {"top", "bottom"};
  Denoiser d(net, ScheduleOptions{}, Standardizer::identity(1), info);
  const auto x = torch::randn({3, 1, 8, 8});
  const Rates r{0.6, 0.8};
  const auto v = torch::full({3}, 0.64f);
  const auto c = d.class_condition(torch::tensor({0, 1, 1}));
  torch::NoGradGuard no_grad;
  const auto conditional = net->forward(x, v, c), unconditional = net->forward(x, v, null_condition(3, 2));
  EXPECT_TRUE(torch::allclose(d.eps_fn(c, 1.0)(x, r), conditional, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(d.eps_fn(c, 0.0)(x, r), unconditional, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(d.eps_fn({}, 3.0)(x, r), unconditional, 1e-5, 1e-6));  // no class: ∅
  const auto guided = d.eps_fn(c, 3.0)(x, r);
  EXPECT_TRUE(torch::allclose(guided, unconditional + 3 * (conditional - unconditional), 1e-4, 1e-5));
  EXPECT_GT((conditional - unconditional).abs().max().item<float>(), 1e-3);  // the class matters
  EXPECT_THROW(d.eps_fn(c, -1.0), InvalidArgument);
  EXPECT_THROW(d.eps_fn(c, std::numeric_limits<double>::quiet_NaN()), InvalidArgument);
  // Guidance needs a class-conditional model.
  auto plain_options = tiny_conditional_unet();
  plain_options.classes = 0;
  plain_options.cond_dim = 0;
  Denoiser plain(std::make_shared<UNet>(plain_options), ScheduleOptions{}, Standardizer::identity(1), info);
  EXPECT_THROW(plain.eps_fn({}, 2.0), InvalidArgument);
  EXPECT_THROW(plain.class_condition(torch::tensor({0})), InvalidArgument);
}

TEST_F(Guidance, LabelsAreDroppedAtTheRequestedRate) {
  auto gen = make_generator(5);
  const auto labels = torch::arange(100000).remainder(7);
  const auto dropped = drop_labels(labels, 0.1, gen);
  const double rate = (dropped == -1).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(rate, 0.1, 0.005);
  const auto kept = dropped != -1;
  EXPECT_TRUE(torch::equal(dropped.masked_select(kept), labels.masked_select(kept)));
  EXPECT_EQ((drop_labels(labels, 0.0, gen) == -1).sum().item<int64_t>(), 0);
  EXPECT_EQ((drop_labels(labels, 1.0, gen) == -1).sum().item<int64_t>(), 100000);
}

// A class-conditional denoiser and a classifier trained for seconds on two well-separated
// classes, shared by the tests below (trained once per test binary).
class TrainedConditional : public SeededTest {
 protected:
  static void SetUpTestSuite() {
    const auto data = two_halves(128);
    const auto dir = shared_dir("class-conditional", [&](const std::string& dir) {
      DenoiserTrainOptions t;
      t.batch = 32;
      t.lr = 3e-3;
      t.preview_samples = 0;
      t.cond_drop = 0.2;
      DenoiserTrainer trainer(tiny_conditional_unet().to_json(), ScheduleOptions{}, data, nullptr, t,
                              torch::kCPU);
      for (int64_t s = 0; s < 500; ++s) trainer.step(s);
      save_checkpoint(dir + "/model.pt", trainer.checkpoint(500));
      ClassifierTrainOptions c;
      c.batch = 32;
      ClassifierTrainer classifier(data, nullptr, c, torch::kCPU);
      for (int64_t s = 0; s < 60; ++s) classifier.step(s);
      save_checkpoint(dir + "/classifier.pt", classifier.checkpoint(60));
    });
    denoiser_ = new Denoiser(load_denoiser(dir + "/model.pt"));
    classifier_ = new LoadedClassifier(load_classifier(dir + "/classifier.pt"));
    images_ = new torch::Tensor(data.all());
    labels_ = new torch::Tensor(data.labels);
  }
  static void TearDownTestSuite() {
    delete denoiser_;
    delete classifier_;
    delete images_;
    delete labels_;
  }
  // P(class c) of images under the classifier.
  static double probability(const torch::Tensor& images, int64_t c) {
    return score_edits(images, images, torch::full({images.size(0)}, c, torch::kInt64), classifier_)
        .target_probability.mean()
        .item<double>();
  }
  static Denoiser* denoiser_;
  static LoadedClassifier* classifier_;
  static torch::Tensor* images_;
  static torch::Tensor* labels_;
};
Denoiser* TrainedConditional::denoiser_ = nullptr;
LoadedClassifier* TrainedConditional::classifier_ = nullptr;
torch::Tensor* TrainedConditional::images_ = nullptr;
torch::Tensor* TrainedConditional::labels_ = nullptr;

TEST_F(TrainedConditional, GuidedSamplesShowTheirClass) {
  const auto& d = *denoiser_;
  EXPECT_EQ(d.network().classes(), 2);
  EXPECT_EQ(d.data().class_index("bottom", 2), 1);
  ASSERT_GT(classifier_->network->options().classes, 1);
  EXPECT_GT(probability(*images_, 0) + probability(*images_, 1), 0.99);  // two classes
  const auto seeds = torch::randn({64, 1, 8, 8});
  const auto grid = make_time_grid(d.schedule(), 10);
  for (int64_t c : {0, 1}) {
    const auto samples =
        generate(d, seeds, grid, {}, 64, {}, Condition(d.class_condition(torch::full({64}, c)), 2.0));
    EXPECT_GT(probability(samples, c), 0.8) << "class " << c;
  }
}

TEST_F(TrainedConditional, WithoutInjectionOrGuidanceDirectInversionIsAReconstruction) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 6);
  const auto source = d.class_condition(labels_->slice(0, 0, 6));
  const auto target = d.class_condition(1 - labels_->slice(0, 0, 6));
  EditOptions o;
  o.inversion_steps = o.steps = 8;
  o.merge = 0;
  o.guidance = 0;
  const auto edited = edit_images(d, x, source, target, {o}, 4).front();
  // The same by the plain calls: inversion under the source class, unconditional sampling.
  const auto grid = make_time_grid(d.schedule(), 8);
  const auto seeds = invert(d, x, grid, {}, 4, {}, Condition(source));
  const auto plain = d.data().crop(generate(d, seeds, grid, {}, 4, {}, Condition(target, 0.0)));
  EXPECT_TRUE(torch::allclose(edited, plain, 1e-5, 1e-6));
  // λ = 0 is the inversion baseline.
  auto inversion = o;
  inversion.method = EditMethod::Inversion;
  inversion.guidance = 3;
  o.guidance = 3;
  const auto both = edit_images(d, x, source, target, {o, inversion}, 4);
  EXPECT_TRUE(torch::equal(both[0], both[1]));
}

TEST_F(TrainedConditional, FullInjectionReturnsTheOriginal) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 6);
  EditOptions o;
  o.inversion_steps = o.steps = 10;
  o.merge = 1;
  o.guidance = 4;  // whatever the guidance: every eps is the inversion's
  for (auto inversion : {InversionMethod::DDIM, InversionMethod::FixedPoint}) {
    o.inversion = inversion;
    const auto edited = edit_images(d, x, d.class_condition(labels_->slice(0, 0, 6)),
                                    d.class_condition(1 - labels_->slice(0, 0, 6)), {o})
                            .front();
    EXPECT_LT((edited - x).abs().max().item<double>(), 1e-4) << to_string(inversion);
  }
  // Injecting only part of the way leaves the edit free at the end.
  o.inject_until = 0.5;
  o.inversion = InversionMethod::DDIM;
  const auto partial = edit_images(d, x, d.class_condition(labels_->slice(0, 0, 6)),
                                   d.class_condition(1 - labels_->slice(0, 0, 6)), {o})
                           .front();
  EXPECT_GT((partial - x).abs().max().item<double>(), 1e-3);
}

TEST_F(TrainedConditional, EditingTowardsTheOtherClassRaisesItsProbability) {
  const auto& d = *denoiser_;
  // Top-half images (class 0) edited to class 1.
  const auto top = images_->index_select(0, (*labels_ == 0).nonzero().squeeze(1)).slice(0, 0, 16);
  const auto n = top.size(0);
  const double before = probability(top, 1);
  EXPECT_LT(before, 0.2);
  EditOptions di;
  di.inversion_steps = di.steps = 10;
  di.guidance = 3;
  di.merge = 0.2;
  auto sde = di;
  sde.method = EditMethod::SDEdit;
  sde.strength = 0.7;
  const auto edits = edit_images(d, top, d.class_condition(torch::zeros({n}, torch::kInt64)),
                                 d.class_condition(torch::ones({n}, torch::kInt64)), {di, sde});
  for (size_t s = 0; s < edits.size(); ++s) {
    const auto scores = score_edits(top, edits[s], torch::ones({n}, torch::kInt64), classifier_);
    EXPECT_GT(scores.target_probability.mean().item<double>(), before + 0.3) << s;
    EXPECT_GT(scores.summary()["success_rate"].get<double>(), 0.5) << s;
    EXPECT_LT(scores.feature_distance.max().item<double>(), 2.0);
  }
}

TEST_F(TrainedConditional, BadEditRequestsAreRefused) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 2);
  const auto c = d.class_condition(torch::tensor({0, 1}));
  EditOptions o;
  o.merge = 1.5;
  EXPECT_THROW(edit_images(d, x, c, c, {o}), InvalidArgument);
  o.merge = 0.5;
  o.guidance = -2;
  EXPECT_THROW(edit_images(d, x, c, c, {o}), InvalidArgument);
  o.guidance = 2;
  EXPECT_THROW(edit_images(d, x, c, c.slice(0, 0, 1), {o}), InvalidArgument);  // a target per image
  EXPECT_THROW(d.data().class_index("sideways", 2), InvalidArgument);
  EXPECT_THROW(d.data().class_index("2", 2), InvalidArgument);
}
