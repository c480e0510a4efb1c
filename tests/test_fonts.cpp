// The rendered Fonts data set: the renderer's invariants on every default font, the tuple
// numbering, the split and the order, and the data set built from them.
#include <filesystem>
#include <set>

#include "ddim/core/error.h"
#include "ddim/data/dataset.h"
#include "ddim/data/fonts.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;
namespace fs = std::filesystem;

namespace {

const char* kFontRoot = "/usr/share/fonts";

// The default fonts, loaded once; a missing one fails the test with the loader's message,
// which names each missing file and its Debian package.
const FontSet& default_set() {
  static const FontSet fonts = load_default_fonts(kFontRoot);
  return fonts;
}

std::string font_path(const std::string& file) { return std::string(kFontRoot) + "/" + file; }

// Each pixel of `image` (uint8 [3, S, S]) as the fraction of the way from `bg` to `fg`; fails
// when a pixel is more than `tol` off that segment in any channel.
torch::Tensor blend_fraction(const torch::Tensor& image, const Colour& fg, const Colour& bg, double tol,
                             const std::string& what) {
  const auto f = torch::tensor({double(fg.r), double(fg.g), double(fg.b)}).view({3, 1, 1});
  const auto b = torch::tensor({double(bg.r), double(bg.g), double(bg.b)}).view({3, 1, 1});
  const auto x = image.to(torch::kFloat64);
  const auto d = f - b;
  const auto alpha = ((x - b) * d).sum(0) / d.pow(2).sum();
  const auto off = (x - (b + alpha.unsqueeze(0) * d)).abs().max().item<double>();
  EXPECT_LE(off, tol) << what << ": a pixel is off the segment between the two colours";
  EXPECT_GE(alpha.min().item<double>(), -0.01) << what;
  EXPECT_LE(alpha.max().item<double>(), 1.01) << what;
  return alpha;
}

}  // namespace

class FontsTest : public SeededTest {};

TEST_F(FontsTest, EveryDefaultFontLoads) {
  // Tried one by one, so that the message names every file that fails.
  for (const auto& f : default_fonts()) {
    try {
      Font::load(font_path(f.file));
    } catch (const Error& e) {
      ADD_FAILURE() << f.file << " (Debian package " << f.package << "): " << e.what();
    }
  }
  ASSERT_NO_THROW(default_set());
  const auto names = default_set().names();
  EXPECT_GE(names.size(), 20u);
  EXPECT_EQ(names.size(), default_fonts().size());
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  // The list is kept in file-name order, the order of the `font` attribute's values.
  for (size_t i = 1; i < default_fonts().size(); ++i)
    EXPECT_LT(fs::path(default_fonts()[i - 1].file).filename(), fs::path(default_fonts()[i].file).filename());
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_EQ(names[i], fs::path(default_fonts()[i].file).stem().string());
}

TEST_F(FontsTest, MissingDefaultFontsAreNamedWithTheirPackages) {
  const auto dir = scratch_dir();
  try {
    load_default_fonts(dir);
    FAIL() << "an empty font root was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("24 of the 24 default fonts are missing"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truetype/dejavu/DejaVuSans.ttf (fonts-dejavu-core)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("scripts/install-deps.sh"), std::string::npos) << msg;
  }
}

TEST_F(FontsTest, AFileThatIsNotAFontIsReportedByName) {
  const auto dir = scratch_dir();
  write_text(dir + "/notes.ttf", "this is a text file, not a font at all");
  try {
    Font::load(dir + "/notes.ttf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/notes.ttf: not a TrueType or OpenType font"),
              std::string::npos)
        << e.what();
  }
  // A real font cut short: its table directory points past the end.
  auto bytes = read_bytes(font_path("truetype/dejavu/DejaVuSans.ttf"));
  bytes.resize(4000);
  write_bytes(dir + "/cut/DejaVuSans.ttf", bytes);
  try {
    Font::load(dir + "/cut/DejaVuSans.ttf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("DejaVuSans.ttf: not a TrueType or OpenType font (table"),
              std::string::npos)
        << e.what();
  }
  // In a font directory, the bad file is named too.
  fs::copy_file(font_path("truetype/dejavu/DejaVuSans.ttf"), dir + "/DejaVuSans.ttf");
  try {
    load_font_dir(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("notes.ttf: not a TrueType"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Font::load(dir + "/absent.ttf"), Error);
}

TEST_F(FontsTest, AFontWithoutEveryLetterIsRefused) {
  // EB Garamond's initials have capitals only (fonts-ebgaramond-extra, a dependency).
  const auto path = font_path("truetype/ebgaramond/EBGaramond-Initials.ttf");
  ASSERT_TRUE(file_exists(path)) << path << " is missing: run scripts/install-deps.sh";
  try {
    Font::load(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("EBGaramond-Initials.ttf: the font has no glyph for"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(FontsTest, FontDirectoryIsSortedByFileNameAndNeedsFonts) {
  const auto dir = scratch_dir();
  EXPECT_THROW(load_font_dir(dir + "/absent"), Error);
  try {
    load_font_dir(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + ": no font files"), std::string::npos) << e.what();
  }
  fs::copy_file(font_path("truetype/liberation2/LiberationMono-Bold.ttf"), dir + "/b.ttf");
  fs::copy_file(font_path("truetype/dejavu/DejaVuSans.ttf"), dir + "/a.TTF");
  write_text(dir + "/readme.txt", "not a font, and not a font file name either");
  EXPECT_EQ(load_font_dir(dir).names(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(FontsTest, SameTupleGivesTheSameBytes) {
  const auto& fonts = default_set();
  GlyphTuple t{7, 2, 4, 1, 3};
  const auto a = render_glyph(fonts, t, 32);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(a.dtype(), torch::kUInt8);
  // Again, and from freshly loaded font files.
  EXPECT_TRUE(torch::equal(a, render_glyph(fonts, t, 32)));
  EXPECT_TRUE(torch::equal(a, render_glyph(load_default_fonts(kFontRoot), t, 32)));
  // Another value of any one attribute changes the picture.
  for (auto other : {GlyphTuple{8, 2, 4, 1, 3}, GlyphTuple{7, 1, 4, 1, 3}, GlyphTuple{7, 2, 5, 1, 3},
                     GlyphTuple{7, 2, 4, 2, 3}, GlyphTuple{7, 2, 4, 1, 4}})
    EXPECT_FALSE(torch::equal(a, render_glyph(fonts, other, 32)));
  // The batched renderer (shared rasterisations, parallel) gives the same bytes per tuple.
  const auto tuples = glyph_tuples(static_cast<int64_t>(fonts.fonts.size()), Split::All, 300);
  std::vector<GlyphTuple> with_repeats = tuples;
  with_repeats.push_back(tuples[5]);
  with_repeats.push_back(GlyphTuple{tuples[5].letter, tuples[5].size, 0, 0, tuples[5].font});
  const auto batch = render_glyphs(fonts, with_repeats, 32);
  ASSERT_EQ(batch.size(0), static_cast<int64_t>(with_repeats.size()));
  for (size_t i = 0; i < with_repeats.size(); ++i)
    ASSERT_TRUE(torch::equal(batch[i], render_glyph(fonts, with_repeats[i], 32))) << "tuple " << i;
}

TEST_F(FontsTest, InkIsInsideCentredSizedAndABlendOfTheTwoColours) {
  const auto& fonts = default_set();
  const auto n_fonts = static_cast<int64_t>(fonts.fonts.size());
  for (int64_t side : {32, 64}) {
    for (int64_t f = 0; f < n_fonts; ++f)
      for (int64_t size = 0; size < 3; ++size)
        for (int64_t letter = 0; letter < 52; ++letter) {
          GlyphTuple t{letter, size, (f + letter) % 10, (f + 3 * letter + size) % 10, f};
          const auto what = fmt::format("{} '{}' {} at {}x{}", fonts.fonts[f].name(), glyph_letters()[letter],
                                        glyph_sizes()[size].name, side, side);
          const auto cov = fonts.fonts[f].coverage(letter, size, side);
          // The outer ring is pure background.
          const auto ring = cov.sum().item<int64_t>() -
                            cov.narrow(0, 1, side - 2).narrow(1, 1, side - 2).sum().item<int64_t>();
          ASSERT_EQ(ring, 0) << what << ": ink on the border";
          // The ink's box is centred (to a pixel: anti-aliasing rounds the box outwards).
          const auto rows = cov.gt(0).any(1).nonzero().flatten(), cols = cov.gt(0).any(0).nonzero().flatten();
          ASSERT_GT(rows.numel(), 0) << what << ": no ink";
          const double cy = (rows.min().item<int64_t>() + rows.max().item<int64_t>() + 1) / 2.0;
          const double cx = (cols.min().item<int64_t>() + cols.max().item<int64_t>() + 1) / 2.0;
          EXPECT_NEAR(cy, side / 2.0, 1.0) << what;
          EXPECT_NEAR(cx, side / 2.0, 1.0) << what;
          if (glyph_letters()[letter] == "H") {
            // The cap height is the size's fraction of the side (+1 px of anti-aliasing).
            const auto h = rows.max().item<int64_t>() - rows.min().item<int64_t>() + 1;
            EXPECT_NEAR(h, glyph_sizes()[size].cap_height * side, 2.0) << what;
          }
          // Every pixel lies between the two colours; both are present.
          const auto image = render_glyph(fonts, t, side);
          const auto alpha = blend_fraction(image, font_colours()[t.font_colour],
                                            background_colours()[t.background_colour], 1.0, what);
          // Both colours are present: the background exactly (the ring); the font colour at
          // least half-way in the thinnest small strokes (a one-pixel stem straddling two
          // pixel columns at 32x32), exactly in large glyphs at 64x64.
          ASSERT_EQ(alpha.min().item<double>(), 0.0) << what;
          ASSERT_GE(alpha.max().item<double>(), 0.45) << what << ": the font colour is nowhere near reached";
          if (side == 64 && size == 2) {
            const auto& fg = font_colours()[t.font_colour];
            const auto exact =
                image.select(0, 0).eq(fg.r) & image.select(0, 1).eq(fg.g) & image.select(0, 2).eq(fg.b);
            ASSERT_TRUE(exact.any().item<bool>()) << what << ": no pixel has the font colour";
          }
        }
  }
}

TEST_F(FontsTest, SizesGrowAndPalettesAreFarApart) {
  const auto& fonts = default_set();
  for (int64_t f = 0; f < static_cast<int64_t>(fonts.fonts.size()); ++f) {
    const auto ink = [&](int64_t size) {
      return fonts.fonts[f].coverage(0, size, 32).gt(0).sum().item<int64_t>();
    };
    EXPECT_LT(ink(0), ink(1)) << fonts.fonts[f].name();
    EXPECT_LT(ink(1), ink(2)) << fonts.fonts[f].name();
  }
  ASSERT_EQ(font_colours().size(), 10u);
  ASSERT_EQ(background_colours().size(), 10u);
  auto dist = [](const Colour& a, const Colour& b) {
    return std::sqrt(std::pow(a.r - b.r, 2.0) + std::pow(a.g - b.g, 2.0) + std::pow(a.b - b.b, 2.0));
  };
  for (const auto& fg : font_colours())
    for (const auto& bg : background_colours())
      EXPECT_GE(dist(fg, bg), 110.0) << fg.name << " on " << bg.name;
  for (const auto* palette : {&font_colours(), &background_colours()})
    for (size_t i = 0; i < palette->size(); ++i)
      for (size_t j = i + 1; j < palette->size(); ++j)
        EXPECT_GE(dist((*palette)[i], (*palette)[j]), 60.0)
            << (*palette)[i].name << " vs " << (*palette)[j].name;
}

TEST_F(FontsTest, TupleNumberingSplitAndOrder) {
  const int64_t n_fonts = 24, total = glyph_tuple_count(n_fonts);
  EXPECT_EQ(total, 52 * 3 * 10 * 10 * 24);
  GlyphTuple t{51, 2, 9, 9, 23};
  EXPECT_EQ(glyph_tuple_index(t), total - 1);
  EXPECT_EQ(glyph_tuple_at(total - 1), t);
  EXPECT_EQ(glyph_tuple_index(GlyphTuple{1, 0, 0, 0, 0}), 1);
  EXPECT_EQ(glyph_tuple_index(GlyphTuple{0, 0, 0, 0, 1}), 15600);

  // The order is a permutation of all tuples; train and test partition it by the split rule.
  const auto all = glyph_tuples(n_fonts, Split::All);
  ASSERT_EQ(static_cast<int64_t>(all.size()), total);
  std::vector<char> seen(total, 0);
  int64_t tests = 0;
  for (const auto& x : all) {
    const auto i = glyph_tuple_index(x);
    ASSERT_FALSE(seen[i]) << "tuple " << i << " twice";
    seen[i] = 1;
    tests += glyph_tuple_split(x) == Split::Test;
  }
  EXPECT_NEAR(double(tests) / total, 0.2, 0.005);
  const auto train = glyph_tuples(n_fonts, Split::Train), test = glyph_tuples(n_fonts, Split::Test);
  EXPECT_EQ(static_cast<int64_t>(test.size()), tests);
  EXPECT_EQ(static_cast<int64_t>(train.size()), total - tests);
  for (size_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(glyph_tuple_split(train[i]), Split::Train);
    EXPECT_EQ(glyph_tuple_split(test[i]), Split::Test);
  }
  // Every value of every attribute occurs in the test split.
  std::set<int64_t> letters, sizes, fcs, bcs, fonts;
  for (const auto& x : test) {
    letters.insert(x.letter);
    sizes.insert(x.size);
    fcs.insert(x.font_colour);
    bcs.insert(x.background_colour);
    fonts.insert(x.font);
  }
  EXPECT_EQ(letters.size(), 52u);
  EXPECT_EQ(sizes.size(), 3u);
  EXPECT_EQ(fcs.size(), 10u);
  EXPECT_EQ(bcs.size(), 10u);
  EXPECT_EQ(fonts.size(), 24u);
  // The split of a tuple does not depend on the number of fonts; a limit takes a prefix.
  const auto few = glyph_tuples(3, Split::Test);
  for (const auto& x : few) EXPECT_EQ(glyph_tuple_split(x), Split::Test);
  const auto first = glyph_tuples(n_fonts, Split::Train, 50);
  ASSERT_EQ(first.size(), 50u);
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i], train[i]);
  // The first 50 are diverse: many fonts, letters and colours.
  std::set<int64_t> f50, l50, c50;
  for (const auto& x : first) {
    f50.insert(x.font);
    l50.insert(x.letter);
    c50.insert(x.background_colour);
  }
  EXPECT_GE(f50.size(), 10u);
  EXPECT_GE(l50.size(), 20u);
  EXPECT_GE(c50.size(), 8u);
}

TEST_F(FontsTest, ASubsetByAttributeValueKeepsTheOrderAndTheSplit) {
  // Capitals, two sizes, three fonts of five: the tuples kept are those of the whole set that
  // meet the conditions, in its order, each in its own split.
  const int64_t n_fonts = 5;
  const std::vector<AttributeCondition> where = {{"letter", {}}, {"size", {0, 2}}, {"font", {1, 2, 4}}};
  std::vector<AttributeCondition> w = where;
  for (int64_t l = 0; l < 26; ++l) w[0].values.push_back(l);
  const auto all = glyph_tuples(n_fonts, Split::Train);
  std::vector<GlyphTuple> expected;
  for (const auto& t : all)
    if (t.letter < 26 && t.size != 1 && t.font != 0 && t.font != 3) expected.push_back(t);
  const auto kept = glyph_tuples(n_fonts, Split::Train, 0, w);
  ASSERT_EQ(kept.size(), expected.size());
  for (size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i], expected[i]);
  const auto test = glyph_tuples(n_fonts, Split::Test, 0, w);
  EXPECT_EQ(kept.size() + test.size(), static_cast<size_t>(26 * 2 * 10 * 10 * 3));
  for (const auto& t : test) EXPECT_EQ(glyph_tuple_split(t), Split::Test);
  // A limit takes a prefix of the subset.
  const auto few = glyph_tuples(n_fonts, Split::Train, 7, w);
  ASSERT_EQ(few.size(), 7u);
  for (size_t i = 0; i < few.size(); ++i) EXPECT_EQ(few[i], expected[i]);
  EXPECT_THROW(glyph_tuples(n_fonts, Split::Train, 0, {{"shape", {0}}}), InvalidArgument);
  EXPECT_THROW(glyph_tuples(n_fonts, Split::Train, 0, {{"size", {3}}}), InvalidArgument);

  // Through the loader: names and ranges of value names, rendered only for the tuples kept.
  DataOptions o;
  o.resize = 16;
  o.where = {"letter=A..C", "size=small", "font_colour=" + font_colours()[0].name};
  const auto ds = load_dataset(parse_data_spec("fonts"), o);
  ASSERT_GT(ds.size(), 0);
  EXPECT_LT(ds.attributes[0].labels.max().item<int64_t>(), 3);
  EXPECT_EQ(ds.attributes[1].labels.max().item<int64_t>(), 0);
  EXPECT_EQ(ds.attributes[2].labels.max().item<int64_t>(), 0);
  EXPECT_EQ(ds.attributes[0].values.size(), 52u);  // labels keep their meaning
  for (int64_t i = 0; i < ds.size(); ++i)
    EXPECT_EQ(glyph_tuple_split(glyph_tuple_at(ds.ids[i].item<int64_t>())), Split::Train);
  o.where = {"letter=Z..A"};
  EXPECT_THROW(load_dataset(parse_data_spec("fonts"), o), InvalidArgument);
}

TEST_F(FontsTest, DataSetHasAlignedAttributesAndAChosenClassLabel) {
  DataOptions o;
  o.split = Split::Test;
  o.limit = 40;
  const auto ds = load_dataset(parse_data_spec("fonts"), o);
  ASSERT_EQ(ds.size(), 40);
  EXPECT_EQ(ds.example_shape(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_FALSE(ds.padding.any());
  ASSERT_EQ(attribute_names(ds.attributes),
            (std::vector<std::string>{"letter", "size", "font_colour", "background_colour", "font"}));
  EXPECT_EQ(ds.label_attribute, "letter");
  EXPECT_TRUE(torch::equal(ds.labels, ds.attributes[0].labels));
  EXPECT_EQ(ds.classes, glyph_letters());
  EXPECT_EQ(ds.attributes[4].values, default_set().names());
  // Image i is the rendering of the tuple its attributes name.
  for (int64_t i = 0; i < ds.size(); ++i) {
    GlyphTuple t{ds.attributes[0].labels[i].item<int64_t>(), ds.attributes[1].labels[i].item<int64_t>(),
                 ds.attributes[2].labels[i].item<int64_t>(), ds.attributes[3].labels[i].item<int64_t>(),
                 ds.attributes[4].labels[i].item<int64_t>()};
    EXPECT_EQ(glyph_tuple_split(t), Split::Test);
    ASSERT_TRUE(torch::equal(ds.storage[i], render_glyph(default_set(), t, 32))) << i;
  }
  // A smaller limit is a prefix; another attribute can be the class label.
  o.limit = 10;
  o.label_attribute = "font";
  const auto small = load_dataset(parse_data_spec("fonts"), o);
  EXPECT_TRUE(torch::equal(small.storage, ds.storage.narrow(0, 0, 10)));
  EXPECT_TRUE(torch::equal(small.labels, ds.attributes[4].labels.narrow(0, 0, 10)));
  EXPECT_EQ(small.classes, default_set().names());
  for (const auto& a : small.attributes) EXPECT_EQ(a.labels.size(0), 10);

  // 64x64 works; so does a directory of fonts.
  o.label_attribute.clear();
  o.resize = 64;
  EXPECT_EQ(load_dataset(parse_data_spec("fonts"), o).example_shape(), (std::vector<int64_t>{3, 64, 64}));
  const auto dir = scratch_dir();
  fs::copy_file(font_path("fonts-go/Go-Regular.ttf"), dir + "/Go-Regular.ttf");
  const auto one = load_dataset(parse_data_spec("fonts:" + dir), o);
  EXPECT_EQ(one.attributes[4].values, (std::vector<std::string>{"Go-Regular"}));
  EXPECT_EQ(one.spec, "fonts:" + dir);
}

TEST_F(FontsTest, BadOptionsAreClearErrors) {
  DataOptions o;
  o.limit = 4;
  o.label_attribute = "colour";
  try {
    load_dataset(parse_data_spec("fonts"), o);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(
        std::string(e.what()).find("unknown attribute 'colour' of fonts (valid: letter, size, font_colour, "
                                   "background_colour, font)"),
        std::string::npos)
        << e.what();
  }
  o.label_attribute.clear();
  o.resize = 8;
  EXPECT_THROW(load_dataset(parse_data_spec("fonts"), o), InvalidArgument);
  o.resize = 0;
  o.crop = 20;
  EXPECT_THROW(load_dataset(parse_data_spec("fonts"), o), InvalidArgument);
  o.crop = 0;
  o.channels = 1;
  EXPECT_THROW(load_dataset(parse_data_spec("fonts"), o), InvalidArgument);
  o.channels = 0;
  o.attributes_file = "/tmp/attributes.csv";
  EXPECT_THROW(load_dataset(parse_data_spec("fonts"), o), InvalidArgument);
  EXPECT_THROW(render_glyph(default_set(), GlyphTuple{52, 0, 0, 0, 0}, 32), InvalidArgument);
  EXPECT_THROW(render_glyph(default_set(), GlyphTuple{0, 0, 0, 0, 24}, 32), InvalidArgument);
}
