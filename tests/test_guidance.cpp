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
  // The judge reads the real images: the mean probability it gives each its own class (1.000000
  // measured on 2026-12-07, AMD EPYC; an untrained classifier gives about 0.5).
  EXPECT_GT(score_edits(*images_, *images_, *labels_, classifier_).target_probability.mean().item<double>(),
            0.95);
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
  const auto grid = make_time_grid(d.schedule(), 8);
  // By default the inversion runs under the null class (the authors' empty prompt): the same
  // as the plain calls, null-class inversion and unconditional sampling.
  const auto by_null = edit_images(d, x, {}, target, {o}, 4).front();
  EXPECT_TRUE(torch::equal(edit_images(d, x, source, target, {o}, 4).front(), by_null));  // source unused
  const auto null_seeds = invert(d, x, grid, {}, 4, {}, Condition(null_condition(6, 2)));
  EXPECT_TRUE(torch::allclose(
      by_null, d.data().crop(generate(d, null_seeds, grid, {}, 4, {}, Condition(target, 0.0))), 1e-5, 1e-6));
  // On request under the source class.
  o.inversion_condition = InversionCondition::Source;
  EXPECT_THROW(edit_images(d, x, {}, target, {o}), InvalidArgument);  // no source given
  const auto edited = edit_images(d, x, source, target, {o}, 4).front();
  const auto seeds = invert(d, x, grid, {}, 4, {}, Condition(source));
  const auto plain = d.data().crop(generate(d, seeds, grid, {}, 4, {}, Condition(target, 0.0)));
  EXPECT_TRUE(torch::allclose(edited, plain, 1e-5, 1e-6));
  EXPECT_GT((edited - by_null).abs().max().item<double>(), 1e-4);  // the condition matters
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

namespace {

// editing.h's Direct Inversion update written out step by step, the oracle of the tests below:
// null-class inversion recording every step's eps, then the guided reverse process merging
// the injected noise (the eps of the inversion step whose noisier end is nearest, or x~_T) at
// every inject_every-th step while t > t_stop.
torch::Tensor reference_edit(const Denoiser& d, const torch::Tensor& images, const torch::Tensor& target,
                             const EditOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t n = images.size(0);
  const auto inversion_grid = make_time_grid(d.schedule(), o.inversion_steps);
  InvertOptions io;
  io.keep_eps = true;
  const auto inverted =
      ddim_invert(d.eps_fn(null_condition(n, 2)), d.standardize(images), inversion_grid, io);
  const int64_t S = inversion_grid.steps();
  const auto grid = make_time_grid(d.schedule(), o.steps);
  const auto guided = d.eps_fn(target, o.guidance);
  auto x = inverted.x;
  for (int64_t j = 0; j < grid.steps(); ++j) {
    auto eps = guided(x, grid.rates[j]);
    const double t = grid.times[j];
    if (j % o.inject_every == 0 && t > o.inject_until) {
      int64_t nearest = 0;  // a grid point 0 .. S - 1: the noisier end of an inversion step
      for (int64_t i = 1; i < S; ++i)
        if (std::abs(inversion_grid.times[i] - t) < std::abs(inversion_grid.times[nearest] - t)) nearest = i;
      // inverted.eps runs from the clean end: entry m is the step from point S - m to S - m - 1.
      const auto z = o.merge_with == InjectedNoise::EncodedNoise ? inverted.x : inverted.eps[S - 1 - nearest];
      eps = (1 - o.merge) * eps + o.merge * z;
    }
    x = ddim_step(x, eps, grid.rates[j], grid.rates[j + 1]);
  }
  return d.data().crop(d.to_data(x));
}

}  // namespace

// Fig. 7's trade-off on the tiny model: the more inverted noise merged in, the closer the edit
// stays to the original (MSE and the feature distance down, SSIM up) and the less it edits.
// On these two classes an edit is all or nothing (the half flips or it does not), and merges
// below 0.75 still flip every image at w = 2: the values span the switch.
TEST_F(TrainedConditional, FidelityRisesWithTheMergeLambda) {
  const auto& d = *denoiser_;
  const auto top = images_->index_select(0, (*labels_ == 0).nonzero().squeeze(1)).slice(0, 0, 16);
  const auto n = top.size(0);
  const auto target = torch::ones({n}, torch::kInt64);
  std::vector<EditOptions> settings;
  for (double merge : {0.0, 0.75, 0.9, 1.0}) {
    EditOptions o;
    o.inversion_steps = o.steps = 10;
    o.guidance = 2;
    o.merge = merge;
    settings.push_back(o);
  }
  const auto edits = edit_images(d, top, {}, d.class_condition(target), settings);
  double last_mse = std::numeric_limits<double>::infinity(), last_ssim = -1;
  double last_distance = std::numeric_limits<double>::infinity(), last_probability = 2;
  for (size_t s = 0; s < edits.size(); ++s) {
    const auto scores = score_edits(top, edits[s], target, classifier_);
    const double mse = scores.mse.mean().item<double>(), ssim = scores.ssim.mean().item<double>();
    const double distance = scores.feature_distance.mean().item<double>();
    const double editability = scores.target_probability.mean().item<double>();
    EXPECT_LT(mse, last_mse) << "lambda " << settings[s].merge;
    EXPECT_GT(ssim, last_ssim) << "lambda " << settings[s].merge;
    EXPECT_LT(distance, last_distance) << "lambda " << settings[s].merge;
    EXPECT_LE(editability, last_probability) << "lambda " << settings[s].merge;
    last_mse = mse;
    last_ssim = ssim;
    last_distance = distance;
    last_probability = editability;
  }
  EXPECT_LT(last_mse, 1e-8);                 // λ = 1: the original
  EXPECT_GT(probability(edits[0], 1), 0.9);  // λ = 0 edits
}

// Injection runs while t > t_stop and stops after: with λ = 1 the first half of the steps
// replays the inversion back to its state at t_stop = 0.5, and the second half is plain guided
// sampling from there. Reversing the comparison (injecting only below t_stop) or including
// t_stop itself gives another image.
TEST_F(TrainedConditional, InjectionStopsAtTStop) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 6);
  const auto target = d.class_condition(1 - labels_->slice(0, 0, 6));
  EditOptions o;
  o.inversion_steps = o.steps = 10;
  o.merge = 1;
  o.guidance = 3;
  o.inject_until = 0.5;
  const auto edited = edit_images(d, x, {}, target, {o}).front();
  torch::NoGradGuard no_grad;
  InvertOptions io;
  io.keep_trajectory = true;
  const auto inverted =
      ddim_invert(d.eps_fn(null_condition(6, 2)), d.standardize(x), make_time_grid(d.schedule(), 10), io);
  const auto& at_stop = inverted.trajectory[5];  // the trajectory runs from t = 0: point 5 is t = 0.5
  const auto rest = make_time_grid(d.schedule(), 5, GridEnd::PredictedX0, 0.5);
  const auto want = d.data().crop(d.to_data(ddim_sample(d.eps_fn(target, 3.0), at_stop, rest).x));
  EXPECT_TRUE(torch::allclose(edited, want, 1e-4, 1e-5)) << (edited - want).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(edited, reference_edit(d, x, target, o), 1e-4, 1e-5));
}

// Injection at every k-th step only (k = inject_every), against the oracle; k = 3 is another
// image than k = 1.
TEST_F(TrainedConditional, InjectEveryKthStep) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 6);
  const auto target = d.class_condition(1 - labels_->slice(0, 0, 6));
  EditOptions every;
  every.inversion_steps = every.steps = 9;
  every.merge = 0.7;
  every.guidance = 3;
  auto third = every;
  third.inject_every = 3;
  const auto edits = edit_images(d, x, {}, target, {every, third});
  EXPECT_TRUE(torch::allclose(edits[0], reference_edit(d, x, target, every), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(edits[1], reference_edit(d, x, target, third), 1e-4, 1e-5));
  EXPECT_GT((edits[0] - edits[1]).abs().max().item<double>(), 1e-3);
}

// Unequal inversion and inference grids (the paper's Figs. 6 and 8 sweep them apart): each
// inference step injects the eps of the inversion step whose noisier end is nearest its time.
// The grids are chosen so that no time lies midway between two inversion points.
TEST_F(TrainedConditional, UnequalGridsInjectTheNearestInversionStep) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 6);
  const auto target = d.class_condition(1 - labels_->slice(0, 0, 6));
  for (const auto& [inversion_steps, steps] : std::vector<std::pair<int64_t, int64_t>>{{4, 10}, {20, 7}}) {
    EditOptions o;
    o.inversion_steps = inversion_steps;
    o.steps = steps;
    o.merge = 0.8;
    o.guidance = 2;
    const auto edited = edit_images(d, x, {}, target, {o}).front();
    EXPECT_TRUE(torch::allclose(edited, reference_edit(d, x, target, o), 1e-4, 1e-5))
        << inversion_steps << " inversion steps, " << steps << " inference steps";
  }
}

// Section 3.2's literal reading: the final inverted noise x~_T merged at every injection step.
TEST_F(TrainedConditional, MergingWithTheEncodedNoiseInjectsXT) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 6);
  const auto target = d.class_condition(1 - labels_->slice(0, 0, 6));
  EditOptions o;
  o.inversion_steps = o.steps = 10;
  o.merge = 0.5;
  o.guidance = 3;
  o.merge_with = InjectedNoise::EncodedNoise;
  auto eps = o;
  eps.merge_with = InjectedNoise::InvertedEps;
  const auto edits = edit_images(d, x, {}, target, {o, eps});
  EXPECT_TRUE(torch::allclose(edits[0], reference_edit(d, x, target, o), 1e-4, 1e-5));
  EXPECT_GT((edits[0] - edits[1]).abs().max().item<double>(), 1e-3);
  EXPECT_EQ(o.to_json()["merge_with"], "xT");
}

// SDEdit from t0 = 1 with η = 0 is guided DDIM sampling from x_1 = s(1) x_0 + n(1) z, z the
// setting's noise (sdedit_stream): the same grid, the same bits up to float rounding. η = 1
// (Meng et al.'s stochastic process, the default) is another image.
TEST_F(TrainedConditional, SdeditAtFullStrengthIsSamplingFromTheSameNoise) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 6);
  const auto target = d.class_condition(1 - labels_->slice(0, 0, 6));
  EditOptions o;
  o.method = EditMethod::SDEdit;
  o.strength = 1;
  o.eta = 0;
  o.steps = 8;
  o.guidance = 2;
  o.seed = 5;
  auto stochastic = o;
  stochastic.eta = 1;
  EXPECT_EQ(EditOptions{}.eta, 1.0);
  const auto edits = edit_images(d, x, {}, target, {o, stochastic}, 4);
  std::vector<torch::Tensor> z;
  for (int64_t i = 0; i < 6; ++i) {
    auto gen = sdedit_stream(5, i);
    z.push_back(randn({1, 8, 8}, gen));
  }
  const auto grid = make_time_grid(d.schedule(), 8);
  const auto& r = grid.rates.front();
  const auto start = r.signal * d.standardize(x) + r.noise * torch::stack(z);
  const auto sampled = d.data().crop(generate(d, start, grid, {}, 6, {}, Condition(target, 2.0)));
  EXPECT_TRUE(torch::allclose(edits[0], sampled, 1e-5, 1e-6))
      << (edits[0] - sampled).abs().max().item<double>();
  EXPECT_GT((edits[1] - edits[0]).abs().max().item<double>(), 1e-3);
}

// A setting's seed is its own: different seeds, different SDEdit edits; the same seed, the
// same bits, whatever the other settings and the batch size.
TEST_F(TrainedConditional, SdeditHonoursEachSettingsSeed) {
  const auto& d = *denoiser_;
  const auto x = images_->slice(0, 0, 6);
  const auto target = d.class_condition(1 - labels_->slice(0, 0, 6));
  EditOptions o;
  o.method = EditMethod::SDEdit;
  o.strength = 0.6;
  o.steps = 10;
  o.seed = 1;
  auto other = o;
  other.seed = 2;
  const auto edits = edit_images(d, x, {}, target, {o, other, o}, 4);
  EXPECT_GT((edits[0] - edits[1]).abs().max().item<double>(), 1e-3);
  EXPECT_TRUE(torch::equal(edits[0], edits[2]));
  const auto alone = edit_images(d, x, {}, target, {other}, 4).front();  // now the first setting
  EXPECT_TRUE(torch::equal(alone, edits[1]));
  // Each image's noise is its own: one batch of 6 draws what batches of 4 and 2 drew (the
  // network's float sums may round differently over another batch size).
  const auto one_batch = edit_images(d, x, {}, target, {other}, 6).front();
  EXPECT_TRUE(torch::allclose(one_batch, edits[1], 1e-4, 1e-5))
      << (one_batch - edits[1]).abs().max().item<double>();
  o.eta = -1;
  EXPECT_THROW(o.validate(), InvalidArgument);
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
