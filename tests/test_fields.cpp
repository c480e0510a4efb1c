// core/fields.h: the one way options structs are written to JSON and read back.
#include <nlohmann/json.hpp>

#include "ddim/core/error.h"
#include "ddim/core/fields.h"
#include "ddim/diffusion/schedule.h"
#include "ddim/nn/gae.h"
#include "ddim/nn/unet.h"
#include "ddim/training/denoiser_trainer.h"
#include "ddim/training/gae_trainer.h"
#include "ddim/training/training.h"
#include "support.h"

using namespace ddim;
using json = nlohmann::json;

// A checkpoint's "arch" is read back by every later version and fingerprints the denoiser
// (denoiser_fingerprint): the description must keep exactly the keys and values it had when
// UNetOptions wrote it by hand.
TEST(Fields, TheUNetDescriptionKeepsItsLayout) {
  UNetOptions o;
  o.channels = 3;
  o.widths = {8, 16, 32};
  o.norm = NormKind::Group;
  o.dropout = 0.25;
  o.attention_resolutions = {8};
  o.cond_dim = 5;
  const json expected = {{"kind", "unet"},
                         {"channels", 3},
                         {"widths", {8, 16, 32}},
                         {"block_depth", o.block_depth},
                         {"embedding_dims", o.embedding_dims},
                         {"embedding_max_frequency", o.embedding_max_frequency},
                         {"norm", "group"},
                         {"groups", o.groups},
                         {"dropout", 0.25},
                         {"attention_resolutions", {8}},
                         {"attention_heads", o.attention_heads},
                         {"image_size", o.image_size},
                         {"cond_dim", 5},
                         {"classes", 0},
                         {"noise_input", o.noise_input}};
  EXPECT_EQ(o.to_json(), expected);
  EXPECT_EQ(UNetOptions::from_json(expected).to_json(), expected);
}

TEST(Fields, AbsentKeysKeepTheirDefaultsAndEnumsTravelByName) {
  const auto o = GaeTrainOptions::from_json({{"lr", 0.5}, {"lambda_ur", 0.125}, {"loss", "mse"}});
  const GaeTrainOptions d;
  EXPECT_EQ(o.lr, 0.5);
  EXPECT_EQ(o.weights.lambda_ur, 0.125);  // a nested member under its own key
  EXPECT_EQ(o.weights.lambda_ss, d.weights.lambda_ss);
  EXPECT_EQ(o.batch, d.batch);
  EXPECT_EQ(o.loss, Loss::MSE);
  EXPECT_EQ(o.to_json().at("loss"), "mse");
  EXPECT_EQ(o.to_json().at("lambda_ur"), 0.125);
  // Over given defaults, as a resumed run reads its options.
  RunOptions defaults;
  defaults.keep = 9;
  const auto r = RunOptions::from_json({{"steps", 7}}, defaults);
  EXPECT_EQ(r.steps, 7);
  EXPECT_EQ(r.keep, 9);
}

TEST(Fields, BadDescriptionsAreRefused) {
  // An unknown enum name lists the valid ones.
  try {
    DenoiserTrainOptions::from_json({{"loss", "cubic"}});
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("cubic"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mae"), std::string::npos) << e.what();
  }
  // Required keys: a GAE's code sizes, a schedule's kind.
  EXPECT_THROW(GaeOptions::from_json({{"z_dim", 64}}), json::exception);
  EXPECT_THROW(ScheduleOptions::from_json({{"timesteps", 1000}}), json::exception);
  // Wrong types and descriptions that are not objects.
  EXPECT_THROW(DenoiserTrainOptions::from_json({{"batch", "many"}}), json::exception);
  EXPECT_THROW(DenoiserTrainOptions::from_json(json::array({1, 2})), InvalidArgument);
  EXPECT_THROW(RunOptions::from_json({{"steps", "x"}}, RunOptions{}), InvalidArgument);
}
