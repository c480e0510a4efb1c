#include "ddim/methods/interpolation.h"
#include "ddim/metrics/metrics.h"
#include "ddim/pictures/annotate.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

class Metrics : public SeededTest {};

TEST_F(Metrics, MseAndPsnrOfAKnownOffset) {
  auto a = torch::full({2, 1, 16, 16}, 0.5, torch::kFloat64),
       b = torch::full({2, 1, 16, 16}, 0.6, torch::kFloat64);
  auto r = ReconstructionReport::compute(a, b);
  EXPECT_NEAR(r.mse[0].item<double>(), 0.01, 1e-12);
  EXPECT_NEAR(r.psnr[1].item<double>(), 20.0, 1e-9);
  auto same = ReconstructionReport::compute(a, a);
  EXPECT_EQ(same.mse[0].item<double>(), 0.0);
  EXPECT_NEAR(same.psnr[0].item<double>(), 100.0, 1e-9);  // capped, JSON has no infinity
  EXPECT_NEAR(same.ssim[0].item<double>(), 1.0, 1e-9);
}

TEST_F(Metrics, SsimFallsWithNoiseAndIsSymmetric) {
  auto a = torch::rand({1, 3, 32, 32});
  double previous = 1.0;
  for (double level : {0.02, 0.1, 0.3}) {
    auto b = (a + level * torch::randn_like(a)).clamp(0, 1);
    const double s = ssim_per_image(a, b)[0].item<double>();
    EXPECT_LT(s, previous) << level;
    EXPECT_NEAR(s, ssim_per_image(b, a)[0].item<double>(), 1e-12);
    previous = s;
  }
  // A structural change (flipped image) scores far below a mild global brightening.
  EXPECT_LT(ssim_per_image(a, a.flip(3))[0].item<double>(),
            ssim_per_image(a, (a * 0.9 + 0.05))[0].item<double>());
}

TEST_F(Metrics, JsonLayoutIsTheSharedOne) {
  auto a = torch::rand({3, 1, 8, 8});
  auto j = ReconstructionReport::compute(a, (a + 0.1).clamp(0, 1)).to_json({{"method", "x"}});
  for (const auto& k : {"mse", "psnr", "ssim"}) EXPECT_TRUE(j["mean"].contains(k)) << k;
  ASSERT_EQ(j["per_image"].size(), 3u);
  EXPECT_TRUE(j["per_image"][2].contains("ssim"));
  EXPECT_EQ(j["method"], "x");
  EXPECT_NEAR(j["mean"]["mse"].get<double>(),
              (j["per_image"][0]["mse"].get<double>() + j["per_image"][1]["mse"].get<double>() +
               j["per_image"][2]["mse"].get<double>()) /
                  3,
              1e-12);
}

TEST_F(Metrics, LabeledRowsDrawsImagesAndText) {
  auto row = torch::full({3, 1, 8, 8}, 0.5);
  auto pic = labeled_rows({row, row}, {"originals", "seeds"}, {{"a", "b", "c"}}, {});
  EXPECT_EQ(pic.size(0), 1);
  // Text is black, images grey, background white.
  EXPECT_EQ(pic.min().item<float>(), 0.0f);
  EXPECT_GT((pic == 0.5).sum().item<int64_t>(), 6 * 16 * 16 - 1);
  EXPECT_GT(text_width("originals"), text_width("seeds"));
}

TEST_F(Metrics, InterpolationEndsAndSlerpKeepsTheNorm) {
  auto a = torch::randn({64}), b = torch::randn({64});
  for (auto m : {Interpolation::Lerp, Interpolation::Slerp}) {
    auto path = interpolate_seeds(a, b, 5, m);
    EXPECT_TRUE(torch::allclose(path[0], a, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(path[4], b, 1e-5, 1e-5));
  }
  auto unit_a = a / a.norm(), unit_b = b / b.norm();
  auto mid = interpolate_seed(unit_a, unit_b, 0.5, Interpolation::Slerp);
  EXPECT_NEAR(mid.norm().item<float>(), 1.0f, 1e-5);
  EXPECT_LT(interpolate_seed(unit_a, unit_b, 0.5, Interpolation::Lerp).norm().item<float>(), 1.0f);
}
