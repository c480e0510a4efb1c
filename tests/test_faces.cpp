// The faces data set (data/faces.h): the renderer's determinism (pinned checksums), its
// counterfactuals (only the expected region changes; the own value changes nothing), labels
// that match the pixels, the split, the loader's checks of a damaged set, and the
// counterfactuals of fonts and faces through the Dataset (data/counterfactual.h).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "ddim/core/error.h"
#include "ddim/data/counterfactual.h"
#include "ddim/data/dataset.h"
#include "ddim/data/faces.h"
#include "ddim/data/fonts.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSide = 32, kCount = 40;

FaceOptions small_options() {
  FaceOptions o;
  o.size = kSide;
  o.count = kCount;
  o.jobs = 1;
  return o;
}

// A 40-face set at 32x32 with glasses on half the faces, rendered once for this binary.
std::string face_set() {
  return shared_dir("faces-32",
                    [](const std::string& dir) {
                      auto o = small_options();
                      o.p["eyeglasses"] = 0.5;
                      render_face_set(dir + "/set", o);
                    }) +
         "/set";
}

FaceOptions set_options() { return read_face_set(face_set()).options; }

Dataset load_faces(const std::string& dir, Split split) {
  DataSource s;
  s.spec = "faces:" + dir;
  s.options.split = split;
  s.options.pad_to = 0;
  return s.load();
}

// FNV-1a over the bytes of a uint8 tensor.
uint64_t fnv1a(const torch::Tensor& t) {
  const auto c = t.contiguous();
  const auto* p = c.data_ptr<uint8_t>();
  uint64_t h = 1469598103934665603ull;
  for (int64_t i = 0; i < c.numel(); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Rows of an image [3, S, S] where the two images differ, as fractions of the side.
std::pair<double, double> changed_rows(const torch::Tensor& a, const torch::Tensor& b) {
  const auto rows = (a.to(torch::kInt32) - b.to(torch::kInt32)).abs().amax({0, 2}).nonzero().flatten();
  if (rows.numel() == 0) return {-1, -1};
  const double s = static_cast<double>(a.size(1));
  return {rows.min().item<int64_t>() / s, (rows.max().item<int64_t>() + 1) / s};
}

// The hex colour as a [3] int tensor.
torch::Tensor rgb(const std::string& hex) {
  const auto v = std::stoul(hex.substr(1), nullptr, 16);
  return torch::tensor({int((v >> 16) & 255), int((v >> 8) & 255), int(v & 255)}, torch::kInt32);
}

}  // namespace

// Same index, seed and frequencies -> the same bytes, on every run and machine of this
// renderer (the checksums are pinned: a change of facesjs, resvg or the renderer shows here).
TEST(Faces, SameIndexGivesTheSameBytesAsPinned) {
  const auto o = small_options();
  const std::vector<FaceRequest> requests = {{0, {}}, {1, {}}, {7, {}}, {12345, {}}};
  const auto a = render_faces(requests, o), b = render_faces(requests, o);
  ASSERT_EQ(a.images.sizes(), torch::IntArrayRef({4, 3, kSide, kSide}));
  EXPECT_TRUE(torch::equal(a.images, b.images));
  std::vector<uint64_t> sums;
  for (int64_t i = 0; i < 4; ++i) sums.push_back(fnv1a(a.images[i]));
  const std::vector<uint64_t> pinned = {0x3f5f0cf564f5f368ull, 0x22d5d4482717c360ull, 0x334b2e0562459709ull,
                                        0xed3d81a85547b759ull};
  EXPECT_EQ(sums, pinned) << "checksums: " << fmt::format("{:#x}", fmt::join(sums, "ull, ")) << "ull";
  // Another seed draws other faces.
  auto other = o;
  other.seed = 1;
  EXPECT_FALSE(torch::equal(render_faces({{0, {}}}, other).images[0], a.images[0]));
}

// The rendered set's PNGs are the oracle's pixels, and the loader reads them back exactly.
TEST(Faces, TheSetHoldsTheOraclesPixels) {
  const auto dir = face_set();
  const auto train = load_faces(dir, Split::Train);
  std::vector<FaceRequest> requests;
  for (int64_t i = 0; i < 6; ++i) requests.push_back({train.ids[i].item<int64_t>(), {}});
  const auto oracle = render_faces(requests, set_options());
  EXPECT_TRUE(torch::equal(oracle.images, train.storage.slice(0, 0, 6)));
  // The labels file says what the oracle says was drawn.
  for (size_t k = 0; k < train.attributes.size(); ++k) {
    const auto& a = train.attributes[k];
    for (int64_t i = 0; i < 6; ++i)
      EXPECT_EQ(a.values[a.labels[i].item<int64_t>()], oracle.attributes[i].at(a.name))
          << a.name << " of face " << i;
  }
}

TEST(Faces, SettingAFacesOwnValueChangesNothing) {
  const auto o = small_options();
  const std::vector<std::string> names = {"eyeglasses", "hair_colour", "skin_tone",
                                          "male",       "beard",       "hair_style"};
  std::vector<FaceRequest> plain;
  for (int64_t i = 0; i < 6; ++i) plain.push_back({i, {}});
  const auto faces = render_faces(plain, o);
  std::vector<FaceRequest> own;  // one renderer run for all of them
  for (int64_t i = 0; i < 6; ++i)
    for (const auto& name : names) own.push_back({i, {{name, faces.attributes[i].at(name)}}});
  const auto same = render_faces(own, o);
  for (size_t k = 0; k < own.size(); ++k) {
    const auto i = own[k].index;
    EXPECT_TRUE(torch::equal(same.images[k], faces.images[i]))
        << "face " << i << ", " << own[k].set.begin()->first << " = " << own[k].set.begin()->second;
  }
}

// Glasses: only the band of the eyes changes, and every other attribute stays as it was.
TEST(Faces, GlassesChangeOnlyTheEyeBand) {
  const auto o = small_options();
  int tried = 0;
  for (int64_t i = 0; i < 40 && tried < 6; ++i) {
    const auto face = render_faces({{i, {}}}, o);
    if (face.attributes[0].at("eyeglasses") == "yes") continue;
    ++tried;
    const auto with = render_faces({{i, {{"eyeglasses", "yes"}}}}, o);
    EXPECT_EQ(with.attributes[0].at("eyeglasses"), "yes");
    EXPECT_NE(with.attributes[0].at("glasses"), "none");
    const auto [top, bottom] = changed_rows(face.images[0], with.images[0]);
    ASSERT_GE(top, 0) << "face " << i << ": glasses changed no pixel";
    EXPECT_GE(top, 0.35) << "face " << i;
    EXPECT_LE(bottom, 0.78) << "face " << i;
    for (const auto& [name, value] : face.attributes[0])
      if (name != "eyeglasses" && name != "glasses") {
        EXPECT_EQ(with.attributes[0].at(name), value) << name;
      }
  }
  EXPECT_EQ(tried, 6);
}

// Hair colour: the pixels that change were hair, and are hair of the new colour. facesjs paints
// the hair, the long hair behind the head, the beard and the eyebrows in the hair colour. The
// hair region is where the face differs from itself bald and beardless; the eyebrows are where
// that bald face in the new colour differs from it in a third colour (both overridden, so that
// whatever else an override of the colour did would cancel out). Every changed pixel lies in one
// of them (none on the skin, the eyes or the mouth), and most of the hair region changes.
TEST(Faces, HairColourChangesOnlyHairPixels) {
  const auto o = small_options();
  const std::vector<std::pair<std::string, std::string>> colours = {
      {"auburn", "#B55239"}, {"golden_blond", "#e9c67b"}, {"ash_blond", "#D7BF91"}};
  const auto differs = [](const torch::Tensor& x, const torch::Tensor& y) {
    return (x.to(torch::kInt32) - y.to(torch::kInt32)).abs().amax(0) > 0;
  };
  int with_hair = 0;
  for (int64_t i = 0; i < 40 && with_hair < 6; ++i) {
    const auto face = render_faces({{i, {}}}, o);
    const auto& own = face.attributes[0];
    if (own.at("hair_style") == "bald") continue;
    ++with_hair;
    std::vector<std::pair<std::string, std::string>> others;  // the new colour, then the third
    for (const auto& c : colours)
      if (c.first != own.at("hair_colour")) others.push_back(c);
    const auto& [name, hex] = others[0];
    // The face in the new colour; bald and beardless in its own, the new and the third colour.
    const std::map<std::string, std::string> bare = {{"hair_style", "bald"}, {"beard", "no"}};
    auto bare_new = bare, bare_third = bare;
    bare_new["hair_colour"] = name;
    bare_third["hair_colour"] = others[1].first;
    const auto r = render_faces({{i, {{"hair_colour", name}}}, {i, bare}, {i, bare_new}, {i, bare_third}}, o);
    const auto a = face.images[0].to(torch::kInt32), b = r.images[0].to(torch::kInt32);
    const auto changed = differs(a, b);
    const auto hair = differs(face.images[0], r.images[1]);
    const auto eyebrows = differs(r.images[2], r.images[3]);
    const int64_t n = changed.sum().item<int64_t>();
    ASSERT_GT(n, 0) << "face " << i;
    const auto outside = changed & ~(hair | eyebrows);
    EXPECT_EQ(outside.sum().item<int64_t>(), 0)
        << "face " << i << " (" << own.at("hair_style") << "): " << outside.sum().item<int64_t>() << " of "
        << n << " changed pixels lie outside the hair and the eyebrows, at (row, column) "
        << outside.nonzero().slice(0, 0, 5);
    EXPECT_GE((changed & hair).sum().item<double>() / hair.sum().item<double>(), 0.6)
        << "face " << i << ": the hair region has " << hair.sum().item<int64_t>() << " pixels";
    // Changed pixels move towards the new hair colour (facesjs shades hair with dark overlays,
    // so they need not reach it; anti-aliased edges move partly).
    const auto target = rgb(hex).view({3, 1, 1});
    const auto closer = ((b - target).abs().sum(0) < (a - target).abs().sum(0)) & changed;
    EXPECT_GE(closer.sum().item<double>() / n, 0.75) << "face " << i << " to " << name;
    for (const auto& [k, v] : own)
      if (k != "hair_colour" && k != "black_hair" && k != "brown_hair" && k != "blond_hair" &&
          k != "red_hair") {
        EXPECT_EQ(r.attributes[0].at(k), v) << k;
      }
  }
  EXPECT_EQ(with_hair, 6) << "fewer than 6 of the first 40 faces have hair";
}

// What the labels say is drawn: the labelled hair colour is on the face (no hat hides it), and
// a face labelled with glasses loses pixels in the eye band when they are taken off.
TEST(Faces, LabelsMatchWhatIsDrawn) {
  const auto dir = face_set();
  const auto train = load_faces(dir, Split::Train);
  const auto& hair = train.attributes[find_attribute(train.attributes, "hair_colour", train.spec)];
  const auto& style = train.attributes[find_attribute(train.attributes, "hair_style", train.spec)];
  const auto& glasses = train.attributes[find_attribute(train.attributes, "eyeglasses", train.spec)];
  const std::map<std::string, std::string> hex = {{"jet_black", "#0f0902"},  {"soft_black", "#1c1008"},
                                                  {"dark_brown", "#2C1608"}, {"black", "#272421"},
                                                  {"chestnut", "#3D2314"},   {"brown", "#5A3825"},
                                                  {"auburn", "#B55239"},     {"light_brown", "#CC9966"},
                                                  {"ash_blond", "#D7BF91"},  {"golden_blond", "#e9c67b"}};
  // At 32x32 anti-aliasing blends most pixels: render these faces at 128 to find the colour.
  auto big = set_options();
  big.size = 128;
  int with_glasses = 0;
  for (int64_t i = 0; i < 12; ++i) {
    const int64_t id = train.ids[i].item<int64_t>();
    const auto face = render_faces({{id, {}}}, big).images[0].to(torch::kInt32);
    if (style.values[style.labels[i].item<int64_t>()] != "bald") {
      const auto colour = rgb(hex.at(hair.values[hair.labels[i].item<int64_t>()])).view({3, 1, 1});
      EXPECT_GE(((face - colour).abs().amax(0) <= 2).sum().item<int64_t>(), 20) << "face " << id;
    }
    if (glasses.values[glasses.labels[i].item<int64_t>()] == "yes") {
      ++with_glasses;
      const auto bare = render_faces({{id, {{"eyeglasses", "no"}}}}, big).images[0];
      // The band of the eyes, as in GlassesChangeOnlyTheEyeBand.
      const auto [top, bottom] = changed_rows(face.to(torch::kUInt8), bare);
      ASSERT_GE(top, 0) << "face " << id << ": taking the glasses off changed no pixel";
      EXPECT_GE(top, 0.35) << "face " << id;
      EXPECT_LE(bottom, 0.78) << "face " << id;
    }
  }
  EXPECT_GT(with_glasses, 0) << "--p eyeglasses=0.5 drew no glasses in 12 faces";
}

TEST(Faces, TheSplitIsAFunctionOfTheIndex) {
  const auto dir = face_set();
  const auto train = load_faces(dir, Split::Train), test = load_faces(dir, Split::Test);
  const auto all = load_faces(dir, Split::All);
  EXPECT_EQ(train.size() + test.size(), kCount);
  EXPECT_EQ(test.size(), kCount / 10);
  std::set<int64_t> seen;
  for (int64_t i = 0; i < train.size(); ++i) {
    EXPECT_NE(train.ids[i].item<int64_t>() % 10, 9);
    seen.insert(train.ids[i].item<int64_t>());
  }
  for (int64_t i = 0; i < test.size(); ++i) {
    EXPECT_EQ(test.ids[i].item<int64_t>() % 10, 9);
    EXPECT_TRUE(seen.insert(test.ids[i].item<int64_t>()).second) << "face in both splits";
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
  EXPECT_TRUE(torch::equal(all.storage, torch::cat({train.storage, test.storage})));
  EXPECT_TRUE(torch::equal(load_faces(dir, Split::Train).storage, train.storage));
  EXPECT_EQ(face_split(9), Split::Test);
  EXPECT_EQ(face_split(10), Split::Train);
}

// Values are numbered as faces.json lists them (all values, drawn or not); the class label
// is `male` unless another attribute is asked for.
TEST(Faces, AttributesFollowTheManifest) {
  const auto dir = face_set();
  const auto set = read_face_set(dir);
  const auto train = load_faces(dir, Split::Train);
  ASSERT_EQ(train.attributes.size(), set.attributes.size());
  for (size_t k = 0; k < set.attributes.size(); ++k) {
    EXPECT_EQ(train.attributes[k].name, set.attributes[k].name);
    EXPECT_EQ(train.attributes[k].values, set.attributes[k].values);
  }
  EXPECT_EQ(train.label_attribute, "male");
  const auto& hair = train.attributes[find_attribute(train.attributes, "hair_colour", "")];
  EXPECT_EQ(hair.values.size(), 10u);
  const auto& skin = train.attributes[find_attribute(train.attributes, "skin_tone", "")];
  EXPECT_EQ(skin.values.size(), 11u);
}

// --where keeps the faces with the given values, in file order, before --limit: the same
// faces as filtering the whole split, with their ids and pixels.
TEST(Faces, WhereSelectsFacesByAttributeBeforeTheLimit) {
  const auto dir = face_set();
  const auto train = load_faces(dir, Split::Train);
  const auto g = find_attribute(train.attributes, "eyeglasses", "");
  const auto& glasses = train.attributes[g];
  const auto yes = static_cast<int64_t>(std::find(glasses.values.begin(), glasses.values.end(), "yes") -
                                        glasses.values.begin());
  const auto kept = (glasses.labels == yes).nonzero().view({-1});
  ASSERT_GT(kept.size(0), 2);
  DataSource s;
  s.spec = "faces:" + dir;
  s.options.pad_to = 0;
  s.options.where = {"eyeglasses=yes"};
  const auto sub = s.load();
  ASSERT_EQ(sub.size(), kept.size(0));
  EXPECT_TRUE(torch::equal(sub.ids, train.ids.index_select(0, kept)));
  EXPECT_TRUE(torch::equal(sub.storage, train.storage.index_select(0, kept)));
  EXPECT_EQ(sub.attributes[g].values, glasses.values);
  s.options.limit = 2;
  const auto two = s.load();
  ASSERT_EQ(two.size(), 2);
  EXPECT_TRUE(torch::equal(two.ids, sub.ids.slice(0, 0, 2)));
}

// A damaged set fails with one line naming the folder or file and what to do.
TEST(Faces, ADamagedSetFailsClearly) {
  const auto src = face_set();
  auto expect_error = [](const std::string& dir, const std::string& part) {
    try {
      load_faces(dir, Split::Train);
      ADD_FAILURE() << "no error for " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  auto copy = [&](const std::string& name) {
    const auto dir = scratch_dir() + "/" + name;
    fs::copy(src, dir, fs::copy_options::recursive);
    return dir;
  };
  auto d = copy("missing-image");
  fs::remove(d + "/train/000000.png");
  expect_error(d, "train/ holds 35 images but faces.json counts 36 there; render it again with");
  d = copy("no-manifest");
  fs::remove(d + "/faces.json");
  expect_error(d, "not a rendered faces set (no faces.json); render one with `ddim data render-faces --out");
  d = copy("short-labels");
  auto csv = read_text(d + "/attributes.csv");
  csv.erase(csv.find('\n') + 1, csv.find('\n', csv.find('\n') + 1) - csv.find('\n'));  // drop the first row
  write_text(d + "/attributes.csv", csv);
  expect_error(d, "000000.png");
  d = copy("truncated-png");
  auto bytes = read_bytes(d + "/train/000001.png");
  bytes.resize(bytes.size() / 2);
  write_bytes(d + "/train/000001.png", bytes);
  expect_error(d, "000001.png");
  d = copy("bad-manifest");
  write_text(d + "/faces.json", "{\"format\": 1, \"size\": 32}");
  expect_error(d, "faces.json: not a faces manifest");
  expect_error(scratch_dir() + "/absent", "no such directory");
}

// A manifest's count is a number from a file: compared with the files there are before it drives
// any loop (a count of 10^15 once kept the loader counting until it was killed).
TEST(Faces, AHugeCountInTheManifestIsRefusedAtOnce) {
  for (int64_t n = 0; n < 45; ++n) {  // the computed split sizes are face_split's, counted
    int64_t test = 0;
    for (int64_t i = 0; i < n; ++i) test += face_split(i) == Split::Test;
    EXPECT_EQ(faces_in_split(n, Split::Test), test) << n;
    EXPECT_EQ(faces_in_split(n, Split::Train), n - test) << n;
    EXPECT_EQ(faces_in_split(n, Split::All), n) << n;
  }
  const auto src = face_set();
  for (const std::string count : {"1000000000000000", "9223372036854775807"}) {
    const auto dir = scratch_dir() + "/count-" + count;
    fs::copy(src, dir, fs::copy_options::recursive);
    auto manifest = read_text(dir + "/faces.json");
    const auto at = manifest.find("\"count\"");
    ASSERT_NE(at, std::string::npos);
    const auto begin = manifest.find_first_of("0123456789", at),
               end = manifest.find_first_not_of("0123456789", begin);
    manifest.replace(begin, end - begin, count);
    write_text(dir + "/faces.json", manifest);
    const auto start = std::chrono::steady_clock::now();
    try {
      load_faces(dir, Split::Train);
      ADD_FAILURE() << "no error for a count of " << count;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("train/ holds 36 images but faces.json counts"), std::string::npos)
          << e.what();
    }
    // A hang detector, not a timing: the refusal reads one folder listing.
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
  }
}

TEST(Faces, BadRequestsAreNamed) {
  const auto o = small_options();
  auto expect_invalid = [&](const std::vector<FaceRequest>& r, const FaceOptions& opts,
                            const std::string& part) {
    try {
      render_faces(r, opts);
      ADD_FAILURE() << "no error for " << part;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_invalid({{0, {{"wings", "yes"}}}}, o, "unknown attribute 'wings'");
  expect_invalid({{0, {{"bald", "yes"}}}}, o, "'bald' is derived");
  expect_invalid({{0, {{"hair_colour", "green"}}}}, o, "unknown value 'green'");
  expect_invalid({{-1, {}}}, o, "must not be negative");
  auto small = o;
  small.size = 8;
  expect_invalid({{0, {}}}, small, "16..512");
  auto odd = o;
  odd.p["wings"] = 0.5;
  expect_invalid({{0, {}}}, odd, "unknown attribute 'wings'");
}

TEST(Faces, AMissingRendererNamesTheInstallCommand) {
  const auto dir = scratch_dir();
  fs::copy_file(faces_generator_dir() + "/render.mjs", dir + "/render.mjs");
  ::setenv("DDIM_FACES_GENERATOR", dir.c_str(), 1);
  try {
    render_faces({{0, {}}}, small_options());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run scripts/install-faces.sh"), std::string::npos) << e.what();
  }
  ::unsetenv("DDIM_FACES_GENERATOR");
}

// The renderer is another program: what it writes is read back as a file from other people.
// A stand-in renderer that writes too few bytes, labels of the wrong kind or nothing at all
// (and exits 0) gets one line saying what it wrote, not a crash or a shape error.
TEST(Faces, WhatARendererWritesIsCheckedWhenReadBack) {
  const auto dir = scratch_dir();
  write_text(dir + "/node_modules/facesjs/package.json", "{}");
  fs::create_directories(dir + "/node_modules/@resvg/resvg-js");
  write_text(dir + "/render.mjs", R"(
import { writeFileSync } from "node:fs";
const out = process.argv[process.argv.indexOf("--out") + 1];
const mode = process.env.FAKE_RENDERER;
const face = 32 * 32 * 3;
if (mode === "short") { writeFileSync(out, Buffer.alloc(face - 1)); writeFileSync(out + ".json", "[{}]"); }
if (mode === "labels") { writeFileSync(out, Buffer.alloc(face)); writeFileSync(out + ".json", "[{\"male\": 1}]"); }
if (mode === "count") { writeFileSync(out, Buffer.alloc(face)); writeFileSync(out + ".json", "[]"); }
if (mode === "no-labels") writeFileSync(out, Buffer.alloc(face));
)");
  ::setenv("DDIM_FACES_GENERATOR", dir.c_str(), 1);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"short", "the faces renderer wrote 3071 bytes for 1 faces of 32x32 (3072 bytes each)"},
      {"labels", "the faces renderer's labels are not what it should write"},
      {"count", "the faces renderer labelled 0 of 1 faces"},
      {"no-labels", "the faces renderer wrote no labels"},
      {"nothing", "the faces renderer wrote no images"}};
  for (const auto& [mode, part] : cases) {
    ::setenv("FAKE_RENDERER", mode.c_str(), 1);
    try {
      render_faces({{0, {}}}, small_options());
      ADD_FAILURE() << "no error for " << mode;
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(part), std::string::npos) << mode << ": " << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << mode << ": " << m;
    }
  }
  ::unsetenv("FAKE_RENDERER");
  ::unsetenv("DDIM_FACES_GENERATOR");
}

// Counterfactuals through the Dataset: the own value reproduces the stored example; another
// value is the oracle's (faces) or the renderer's (fonts) image of the changed tuple.
TEST(Counterfactuals, FacesThroughTheDataset) {
  const auto train = load_faces(face_set(), Split::Train);
  ASSERT_TRUE(has_counterfactuals(train));
  const auto& g = train.attributes[find_attribute(train.attributes, "eyeglasses", "")];
  std::vector<int64_t> rows = {0, 1, 2, 3};
  std::vector<std::string> own, flipped;
  for (auto r : rows) {
    own.push_back(g.values[g.labels[r].item<int64_t>()]);
    flipped.push_back(own.back() == "yes" ? "no" : "yes");
  }
  EXPECT_TRUE(torch::equal(counterfactuals(train, rows, "eyeglasses", own), train.storage.slice(0, 0, 4)));
  // Every draw has its own stream, so the set rendered with glasses on every face (or on none) holds
  // face i as it is with glasses set (or taken off): the counterfactual is that set's image on disk,
  // written by the renderer's other mode and read back by the loader.
  const auto changed = counterfactuals(train, rows, "eyeglasses", flipped);
  std::map<std::string, Dataset> forced;
  for (const std::string value : {"no", "yes"}) {
    const auto dir = shared_dir("faces-32-glasses-" + value, [&](const std::string& d) {
      auto o = set_options();
      o.count = 10;
      o.jobs = 1;
      o.p["eyeglasses"] = value == "yes" ? 1.0 : 0.0;
      render_face_set(d + "/set", o);
    });
    forced.emplace(value, load_faces(dir + "/set", Split::Train));
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& set = forced.at(flipped[i]);
    const auto id = train.ids[rows[i]].item<int64_t>();
    ASSERT_EQ(set.ids[id].item<int64_t>(), id);  // faces 0..8 are the training faces of the first ten
    EXPECT_TRUE(torch::equal(changed[i], set.storage[id])) << "row " << i << ", eyeglasses " << flipped[i];
    EXPECT_FALSE(torch::equal(changed[i], train.storage[rows[i]])) << "row " << i;
  }
  // Resized data: counterfactuals come resized like the images.
  DataSource s;
  s.spec = "faces:" + face_set();
  s.options.resize = 16;
  s.options.pad_to = 0;
  const auto small = s.load();
  EXPECT_TRUE(
      torch::equal(counterfactuals(small, {0}, "eyeglasses", {own[0]}), small.storage.slice(0, 0, 1)));
}

TEST(Counterfactuals, FontsThroughTheDataset) {
  DataSource s;
  s.spec = "fonts";
  s.options.limit = 8;
  const auto data = s.load();
  ASSERT_TRUE(has_counterfactuals(data));
  const auto& c = data.attributes[find_attribute(data.attributes, "font_colour", "")];
  std::vector<int64_t> rows = {0, 3, 5};
  std::vector<std::string> own, other;
  for (auto r : rows) {
    const auto v = c.labels[r].item<int64_t>();
    own.push_back(c.values[v]);
    other.push_back(c.values[(v + 1) % c.values.size()]);
  }
  EXPECT_TRUE(torch::equal(counterfactuals(data, rows, "font_colour", own),
                           data.storage.index_select(0, torch::tensor(rows))));
  // The changed glyph is the example's coverage (the font's rasteriser) blended between its
  // background and the other font colour by fonts.h's formula, computed here from the example's
  // labels rather than by the renderer.
  const auto changed = counterfactuals(data, rows, "font_colour", other);
  const auto fonts = load_default_fonts();
  const auto label = [&](const std::string& name, int64_t row) {
    return data.attributes[find_attribute(data.attributes, name, "")].labels[row].item<int64_t>();
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto r = rows[i];
    const auto& fg =
        font_colours()[(c.labels[r].item<int64_t>() + 1) % static_cast<int64_t>(c.values.size())];
    const auto& bg = background_colours()[label("background_colour", r)];
    const auto a =
        fonts.fonts[label("font", r)].coverage(label("letter", r), label("size", r), 32).to(torch::kInt32);
    const auto blend = [&](int fg_c, int bg_c) {
      return (bg_c * (255 - a) + fg_c * a + 127).div(255, "floor").unsqueeze(0);
    };
    const auto want = torch::cat({blend(fg.r, bg.r), blend(fg.g, bg.g), blend(fg.b, bg.b)}).to(torch::kUInt8);
    EXPECT_TRUE(torch::equal(changed[i], want))
        << "row " << i << ": "
        << (changed[i].to(torch::kInt32) - want.to(torch::kInt32)).abs().max().item<int>() << " off at most";
  }
  // A set without a generator has none.
  DataSource toy;
  toy.spec = "toy:circles";
  EXPECT_FALSE(has_counterfactuals(toy.load()));
  try {
    counterfactuals(data, {0}, "colour", {"red"});
    ADD_FAILURE();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown attribute 'colour'"), std::string::npos) << e.what();
  }
}
