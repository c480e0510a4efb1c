#include "ddim/data/fonts.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "data/part.h"
#include "ddim/core/error.h"
#include "ddim/core/file.h"
#include "ddim/core/limits.h"
#include "ddim/core/rng.h"
#include "ddim/io/image.h"

// The stb_truetype implementation lives in this translation unit only.
#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC
#include <stb/stb_truetype.h>

namespace fs = std::filesystem;

namespace ddim {

struct Font::Impl {
  std::string name, path;
  std::vector<unsigned char> data;  // stbtt_fontinfo points into it
  stbtt_fontinfo info{};
  int glyphs[52] = {};   // glyph index of each letter
  double cap_units = 0;  // height of 'H' in font units
};

namespace {

constexpr int64_t kLetters = 52, kSizes = 3, kColours = 10;
constexpr uint64_t kSplitKey = 0x666f6e74732d7473ULL;  // "fonts-ts"

int codepoint(int64_t letter) { return letter < 26 ? 'A' + int(letter) : 'a' + int(letter - 26); }

uint32_t be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// stb_truetype trusts its input, so check first that the table directory of the (first) font
// lies inside the file and so does every table it lists: a truncated or foreign file then
// fails here with a message instead of being read out of bounds.
void check_table_directory(const std::vector<unsigned char>& d, const std::string& path) {
  const char* what = "not a TrueType or OpenType font";
  DDIM_CHECK(d.size() >= 12, "{}: {} (only {} bytes)", path, what, d.size());
  DDIM_CHECK(stbtt_GetNumberOfFonts(d.data()) >= 1, "{}: {} (unknown signature)", path, what);
  size_t offset = 0;
  if (std::equal(d.begin(), d.begin() + 4, "ttcf")) {
    DDIM_CHECK(d.size() >= 16, "{}: {} (truncated collection header)", path, what);
    offset = be32(d.data() + 12);
  }
  DDIM_CHECK(offset + 12 <= d.size(), "{}: {} (truncated header)", path, what);
  const size_t tables = (size_t(d[offset + 4]) << 8) | d[offset + 5];
  DDIM_CHECK(tables > 0 && offset + 12 + 16 * tables <= d.size(), "{}: {} (truncated table directory)", path,
             what);
  for (size_t i = 0; i < tables; ++i) {
    const unsigned char* rec = d.data() + offset + 12 + 16 * i;
    const uint64_t start = be32(rec + 8), length = be32(rec + 12);
    DDIM_CHECK(start + length <= d.size(), "{}: {} (table '{}' runs past the end of the file)", path, what,
               std::string(reinterpret_cast<const char*>(rec), 4));
  }
}

// A 4-round Feistel network on `bits`-bit integers (bits even): a fixed permutation of
// [0, 2^bits).
uint64_t feistel(uint64_t x, int bits) {
  const int half = bits / 2;
  const uint64_t mask = (uint64_t{1} << half) - 1;
  uint64_t left = x >> half, right = x & mask;
  for (uint64_t round = 0; round < 4; ++round) {
    const uint64_t f = splitmix64(right ^ (kSplitKey + round)) & mask;
    const uint64_t next = left ^ f;
    left = right;
    right = next;
  }
  return (left << half) | right;
}

// A permutation of [0, n): the Feistel permutation of the smallest even power of two >= n,
// walked until it lands inside [0, n) (cycle walking keeps it a bijection).
uint64_t permute(uint64_t k, uint64_t n) {
  int bits = 2;
  while ((uint64_t{1} << bits) < n) bits += 2;
  uint64_t y = feistel(k, bits);
  while (y >= n) y = feistel(y, bits);
  return y;
}

void check_tuple(const GlyphTuple& t, int64_t fonts) {
  DDIM_CHECK_ARG(t.letter >= 0 && t.letter < kLetters, "letter {} out of range [0, {})", t.letter, kLetters);
  DDIM_CHECK_ARG(t.size >= 0 && t.size < kSizes, "size {} out of range [0, {})", t.size, kSizes);
  DDIM_CHECK_ARG(t.font_colour >= 0 && t.font_colour < kColours, "font colour {} out of range [0, {})",
                 t.font_colour, kColours);
  DDIM_CHECK_ARG(t.background_colour >= 0 && t.background_colour < kColours,
                 "background colour {} out of range [0, {})", t.background_colour, kColours);
  DDIM_CHECK_ARG(t.font >= 0 && t.font < fonts, "font {} out of range [0, {})", t.font, fonts);
}

// Blends coverage [side * side] between the tuple's colours into out [3, side, side].
void blend(const uint8_t* coverage, const GlyphTuple& t, int64_t side, uint8_t* out) {
  const auto& fg = font_colours()[t.font_colour];
  const auto& bg = background_colours()[t.background_colour];
  const uint32_t f[3] = {fg.r, fg.g, fg.b}, b[3] = {bg.r, bg.g, bg.b};
  const int64_t plane = side * side;
  for (int c = 0; c < 3; ++c)
    for (int64_t p = 0; p < plane; ++p) {
      const uint32_t a = coverage[p];
      out[c * plane + p] = static_cast<uint8_t>((b[c] * (255 - a) + f[c] * a + 127) / 255);
    }
}

FontSet sorted_set(std::vector<Font> fonts) {
  std::sort(fonts.begin(), fonts.end(), [](const Font& a, const Font& b) {
    return fs::path(a.path()).filename() < fs::path(b.path()).filename();
  });
  for (size_t i = 1; i < fonts.size(); ++i)
    DDIM_CHECK(fonts[i].name() != fonts[i - 1].name(), "{} and {}: two fonts with the name '{}'",
               fonts[i - 1].path(), fonts[i].path(), fonts[i].name());
  return FontSet{std::move(fonts)};
}

}  // namespace

Font Font::load(const std::string& path) {
  auto impl = std::make_shared<Impl>();
  impl->path = path;
  impl->name = fs::path(path).stem().string();
  const auto bytes = read_file(path);
  impl->data.assign(bytes.begin(), bytes.end());
  check_table_directory(impl->data, path);
  const int offset = stbtt_GetFontOffsetForIndex(impl->data.data(), 0);
  DDIM_CHECK(offset >= 0 && stbtt_InitFont(&impl->info, impl->data.data(), offset),
             "{}: not a TrueType or OpenType font (stb_truetype cannot read its tables)", path);
  std::string missing;
  for (int64_t l = 0; l < kLetters; ++l) {
    const int g = stbtt_FindGlyphIndex(&impl->info, codepoint(l));
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    if (g == 0 || stbtt_IsGlyphEmpty(&impl->info, g) ||
        !stbtt_GetGlyphBox(&impl->info, g, &x0, &y0, &x1, &y1) || x1 <= x0 || y1 <= y0)
      missing += char(codepoint(l));
    impl->glyphs[l] = g;
  }
  DDIM_CHECK(missing.empty(), "{}: the font has no glyph for {} of the 52 letters ({})", path, missing.size(),
             missing);
  int x0, y0, x1, y1;
  stbtt_GetGlyphBox(&impl->info, impl->glyphs['H' - 'A'], &x0, &y0, &x1, &y1);
  impl->cap_units = y1 - y0;
  Font font;
  font.impl_ = std::move(impl);
  return font;
}

const std::string& Font::name() const { return impl_->name; }
const std::string& Font::path() const { return impl_->path; }

torch::Tensor Font::coverage(int64_t letter, int64_t size, int64_t side) const {
  DDIM_CHECK_ARG(side >= 16, "fonts: the image side must be at least 16, got {}", side);
  DDIM_CHECK_ARG(letter >= 0 && letter < kLetters, "letter {} out of range [0, {})", letter, kLetters);
  DDIM_CHECK_ARG(size >= 0 && size < kSizes, "size {} out of range [0, {})", size, kSizes);
  const auto& f = *impl_;
  const int g = f.glyphs[letter];
  int gx0, gy0, gx1, gy1;
  stbtt_GetGlyphBox(&f.info, g, &gx0, &gy0, &gx1, &gy1);
  // Scale: the cap height is the size's fraction of the side; shrink a glyph that would not
  // fit inside the margin.
  const double s = static_cast<double>(side);
  const double margin = s / 16, room = s - 2 * margin;
  double scale = glyph_sizes()[size].cap_height * s / f.cap_units;
  const double extent = std::max(gx1 - gx0, gy1 - gy0) * scale;
  if (extent > room) scale *= room / extent;
  const double w = (gx1 - gx0) * scale, h = (gy1 - gy0) * scale;
  // Centre the box: image x = font x * scale + dx, image y = dy - font y * scale (y grows
  // downwards). stb_truetype takes the fractional parts as subpixel shifts.
  const double dx = (s - w) / 2 - gx0 * scale, dy = (s - h) / 2 + gy1 * scale;
  const double ox = std::floor(dx), oy = std::floor(dy);
  const auto sx = static_cast<float>(dx - ox), sy = static_cast<float>(dy - oy);
  const auto fscale = static_cast<float>(scale);
  int ix0, iy0, ix1, iy1;
  stbtt_GetGlyphBitmapBoxSubpixel(&f.info, g, fscale, fscale, sx, sy, &ix0, &iy0, &ix1, &iy1);
  const int bw = ix1 - ix0, bh = iy1 - iy0;
  std::vector<unsigned char> bitmap(static_cast<size_t>(std::max(bw, 1) * std::max(bh, 1)), 0);
  stbtt_MakeGlyphBitmapSubpixel(&f.info, bitmap.data(), bw, bh, bw, fscale, fscale, sx, sy, g);
  auto out = torch::zeros({side, side}, torch::kUInt8);
  auto* o = out.data_ptr<uint8_t>();
  const int64_t left = ix0 + static_cast<int64_t>(ox), top = iy0 + static_cast<int64_t>(oy);
  DDIM_CHECK(left >= 0 && top >= 0 && left + bw <= side && top + bh <= side,
             "{}: glyph '{}' does not fit the {}x{} image (box {}..{} x {}..{})", f.path,
             char(codepoint(letter)), side, side, left, left + bw, top, top + bh);
  for (int y = 0; y < bh; ++y)
    std::copy(bitmap.begin() + y * bw, bitmap.begin() + (y + 1) * bw, o + (top + y) * side + left);
  return out;
}

std::vector<std::string> FontSet::names() const {
  std::vector<std::string> out;
  for (const auto& f : fonts) out.push_back(f.name());
  return out;
}

const std::vector<DefaultFont>& default_fonts() {
  // Distinct typefaces and styles: sans, serif, monospaced, condensed, rounded, italic and
  // handwritten. Sorted by file name.
  static const std::vector<DefaultFont> fonts = {
      {"truetype/crosextra/Caladea-Bold.ttf", "fonts-crosextra-caladea"},
      {"truetype/crosextra/Caladea-Regular.ttf", "fonts-crosextra-caladea"},
      {"truetype/crosextra/Carlito-BoldItalic.ttf", "fonts-crosextra-carlito"},
      {"truetype/crosextra/Carlito-Regular.ttf", "fonts-crosextra-carlito"},
      {"truetype/dejavu/DejaVuSans-Bold.ttf", "fonts-dejavu-core"},
      {"truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"},
      {"truetype/dejavu/DejaVuSansMono.ttf", "fonts-dejavu-core"},
      {"truetype/dejavu/DejaVuSerif-Bold.ttf", "fonts-dejavu-core"},
      {"truetype/dejavu/DejaVuSerif.ttf", "fonts-dejavu-core"},
      {"truetype/ebgaramond/EBGaramond12-Regular.ttf", "fonts-ebgaramond-extra"},
      {"truetype/freefont/FreeMono.ttf", "fonts-freefont-ttf"},
      {"truetype/freefont/FreeSansBoldOblique.ttf", "fonts-freefont-ttf"},
      {"truetype/freefont/FreeSerifItalic.ttf", "fonts-freefont-ttf"},
      {"truetype/gentium/Gentium-R.ttf", "fonts-sil-gentium"},
      {"fonts-go/Go-Mono.ttf", "fonts-go"},
      {"fonts-go/Go-Regular.ttf", "fonts-go"},
      {"truetype/liberation2/LiberationMono-Bold.ttf", "fonts-liberation2"},
      {"truetype/liberation2/LiberationSans-Regular.ttf", "fonts-liberation2"},
      {"truetype/liberation2/LiberationSerif-Italic.ttf", "fonts-liberation2"},
      {"truetype/liberation2/LiberationSerif-Regular.ttf", "fonts-liberation2"},
      {"truetype/open-sans/OpenSans-CondBold.ttf", "fonts-open-sans"},
      {"truetype/open-sans/OpenSans-ExtraBold.ttf", "fonts-open-sans"},
      {"truetype/tlwg/Purisa.ttf", "fonts-tlwg-purisa-ttf"},
      {"truetype/quicksand/Quicksand-Bold.ttf", "fonts-quicksand"},
  };
  return fonts;
}

FontSet load_default_fonts(const std::string& root) {
  std::vector<std::string> missing;
  std::error_code ec;
  for (const auto& f : default_fonts())
    if (!fs::is_regular_file(root + "/" + f.file, ec))
      missing.push_back(fmt::format("{} ({})", f.file, f.package));
  DDIM_CHECK(missing.empty(),
             "fonts: {} of the {} default fonts are missing under {}: {}; install them with "
             "scripts/install-deps.sh (Debian packages) or give a directory of fonts, --data fonts:DIR",
             missing.size(), default_fonts().size(), root, fmt::join(missing, ", "));
  std::vector<Font> fonts;
  for (const auto& f : default_fonts()) fonts.push_back(Font::load(root + "/" + f.file));
  return sorted_set(std::move(fonts));
}

FontSet load_font_dir(const std::string& dir) {
  std::error_code ec;
  DDIM_CHECK(fs::is_directory(dir, ec), "{}: no such directory", dir);
  std::vector<std::string> files;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if ((ext == ".ttf" || ext == ".otf") && it->is_regular_file(ec)) files.push_back(it->path().string());
  }
  DDIM_CHECK(!ec, "{}: cannot list: {}", dir, ec.message());
  DDIM_CHECK(!files.empty(), "{}: no font files (.ttf or .otf) in the directory", dir);
  std::vector<Font> fonts;
  for (const auto& f : files) fonts.push_back(Font::load(f));
  return sorted_set(std::move(fonts));
}

const std::vector<std::string>& glyph_letters() {
  static const std::vector<std::string> letters = [] {
    std::vector<std::string> v;
    for (int64_t l = 0; l < kLetters; ++l) v.emplace_back(1, char(codepoint(l)));
    return v;
  }();
  return letters;
}

const std::vector<GlyphSize>& glyph_sizes() {
  static const std::vector<GlyphSize> sizes = {{"small", 0.30}, {"medium", 0.42}, {"large", 0.55}};
  return sizes;
}

const std::vector<Colour>& font_colours() {
  static const std::vector<Colour> colours = {
      {"black", 0, 0, 0},      {"white", 255, 255, 255}, {"red", 230, 0, 0},    {"green", 0, 200, 0},
      {"blue", 0, 0, 255},     {"yellow", 255, 235, 0},  {"cyan", 0, 230, 230}, {"magenta", 235, 0, 235},
      {"orange", 255, 140, 0}, {"purple", 120, 0, 200},
  };
  return colours;
}

const std::vector<Colour>& background_colours() {
  static const std::vector<Colour> colours = {
      {"maroon", 128, 40, 40}, {"tan", 192, 152, 112},      {"olive", 120, 120, 32}, {"sage", 128, 168, 120},
      {"forest", 40, 96, 48},  {"mint", 150, 210, 180},     {"teal", 24, 120, 120},  {"steel", 96, 128, 160},
      {"navy", 40, 48, 128},   {"lavender", 168, 152, 208},
  };
  return colours;
}

int64_t glyph_tuple_count(int64_t fonts) { return kLetters * kSizes * kColours * kColours * fonts; }

int64_t glyph_tuple_index(const GlyphTuple& t) {
  return (((t.font * kColours + t.background_colour) * kColours + t.font_colour) * kSizes + t.size) *
             kLetters +
         t.letter;
}

GlyphTuple glyph_tuple_at(int64_t index) {
  DDIM_CHECK_ARG(index >= 0, "tuple index must not be negative, got {}", index);
  GlyphTuple t;
  t.letter = index % kLetters;
  index /= kLetters;
  t.size = index % kSizes;
  index /= kSizes;
  t.font_colour = index % kColours;
  index /= kColours;
  t.background_colour = index % kColours;
  t.font = index / kColours;
  return t;
}

Split glyph_tuple_split(const GlyphTuple& t) {
  return splitmix64(static_cast<uint64_t>(glyph_tuple_index(t)) ^ kSplitKey) % 5 == 0 ? Split::Test
                                                                                      : Split::Train;
}

std::vector<GlyphTuple> glyph_tuples(int64_t fonts, Split split, int64_t limit,
                                     const std::vector<AttributeCondition>& where) {
  DDIM_CHECK_ARG(fonts > 0, "fonts: need at least one font, got {}", fonts);
  DDIM_CHECK_ARG(limit >= 0, "limit must not be negative, got {}", limit);
  // allowed[a][v]: value v of attribute a (glyph_attributes' order) meets the conditions.
  const std::vector<std::string> names = {"letter", "size", "font_colour", "background_colour", "font"};
  const std::vector<int64_t> counts = {kLetters, kSizes, kColours, kColours, fonts};
  std::vector<std::vector<bool>> allowed;
  for (size_t a = 0; a < names.size(); ++a) allowed.emplace_back(static_cast<size_t>(counts[a]), true);
  for (const auto& c : where) {
    const auto it = std::find(names.begin(), names.end(), c.attribute);
    DDIM_CHECK_ARG(it != names.end(), "fonts: no attribute '{}' (its attributes: {})", c.attribute,
                   fmt::join(names, ", "));
    const auto a = static_cast<size_t>(it - names.begin());
    std::vector<bool> in(static_cast<size_t>(counts[a]), false);
    for (const auto v : c.values) {
      DDIM_CHECK_ARG(v >= 0 && v < counts[a], "fonts: {} has no value {}", c.attribute, v);
      in[static_cast<size_t>(v)] = true;
    }
    for (size_t v = 0; v < in.size(); ++v) allowed[a][v] = allowed[a][v] && in[v];
  }
  auto meets = [&](const GlyphTuple& t) {
    const int64_t v[] = {t.letter, t.size, t.font_colour, t.background_colour, t.font};
    for (size_t a = 0; a < names.size(); ++a)
      if (!allowed[a][static_cast<size_t>(v[a])]) return false;
    return true;
  };
  const auto n = static_cast<uint64_t>(glyph_tuple_count(fonts));
  std::vector<GlyphTuple> out;
  for (uint64_t k = 0; k < n && (limit == 0 || static_cast<int64_t>(out.size()) < limit); ++k) {
    const auto t = glyph_tuple_at(static_cast<int64_t>(permute(k, n)));
    if ((split == Split::All || glyph_tuple_split(t) == split) && meets(t)) out.push_back(t);
  }
  return out;
}

torch::Tensor render_glyph(const FontSet& fonts, const GlyphTuple& t, int64_t side) {
  check_tuple(t, static_cast<int64_t>(fonts.fonts.size()));
  const auto coverage = fonts.fonts[t.font].coverage(t.letter, t.size, side);
  auto out = torch::empty({3, side, side}, torch::kUInt8);
  blend(coverage.data_ptr<uint8_t>(), t, side, out.data_ptr<uint8_t>());
  return out;
}

torch::Tensor render_glyphs(const FontSet& fonts, const std::vector<GlyphTuple>& tuples, int64_t side) {
  const auto n_fonts = static_cast<int64_t>(fonts.fonts.size());
  for (const auto& t : tuples) check_tuple(t, n_fonts);
  DDIM_CHECK_ARG(side >= 16, "fonts: the image side must be at least 16, got {}", side);
  // Rasterise each (font, size, letter) the tuples use once: colours only change the blend.
  auto key = [](const GlyphTuple& t) { return (t.font * kSizes + t.size) * kLetters + t.letter; };
  std::map<int64_t, int64_t> slot;  // key -> row of `coverage`
  for (const auto& t : tuples) slot.emplace(key(t), 0);
  std::vector<int64_t> keys;
  for (auto& [k, row] : slot) {
    row = static_cast<int64_t>(keys.size());
    keys.push_back(k);
  }
  const auto n_keys = static_cast<int64_t>(keys.size());
  auto coverage = torch::empty({n_keys, side, side}, torch::kUInt8);
  at::parallel_for(0, n_keys, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t k = keys[i];
      coverage[i].copy_(
          fonts.fonts[k / (kSizes * kLetters)].coverage(k % kLetters, (k / kLetters) % kSizes, side));
    }
  });
  const auto n = static_cast<int64_t>(tuples.size());
  auto out = torch::empty({n, 3, side, side}, torch::kUInt8);
  const auto* cov = coverage.data_ptr<uint8_t>();
  auto* dst = out.data_ptr<uint8_t>();
  at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      blend(cov + slot.at(key(tuples[i])) * side * side, tuples[i], side, dst + i * 3 * side * side);
  });
  return out;
}

std::vector<Attribute> glyph_attributes(const FontSet& fonts, const std::vector<GlyphTuple>& tuples) {
  const auto n = static_cast<int64_t>(tuples.size());
  auto labels = torch::empty({5, n}, torch::kInt64);
  auto a = labels.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& t = tuples[i];
    a[0][i] = t.letter;
    a[1][i] = t.size;
    a[2][i] = t.font_colour;
    a[3][i] = t.background_colour;
    a[4][i] = t.font;
  }
  auto names = [](const auto& items) {
    std::vector<std::string> v;
    for (const auto& x : items) v.push_back(x.name);
    return v;
  };
  return {
      {"letter", glyph_letters(), labels[0].clone()},
      {"size", names(glyph_sizes()), labels[1].clone()},
      {"font_colour", names(font_colours()), labels[2].clone()},
      {"background_colour", names(background_colours()), labels[3].clone()},
      {"font", fonts.names(), labels[4].clone()},
  };
}

Part load_fonts_part(const std::string& font_dir, const DataOptions& o) {
  DDIM_CHECK_ARG(o.crop == 0,
                 "a crop size applies to folder data, not fonts (the resize size sets the image side)");
  DDIM_CHECK_ARG(o.channels == 0 || o.channels == 3,
                 "fonts are RGB: 1 channel is refused because a font colour and a background "
                 "colour may have the same gray level");
  const int64_t side = o.resize > 0 ? o.resize : 32;
  DDIM_CHECK_ARG(side >= 16, "fonts: the image side (the resize size) must be at least 16, got {}", side);
  check_image_size(side, side, "fonts");
  const auto fonts = font_dir.empty() ? load_default_fonts() : load_font_dir(font_dir);
  std::vector<AttributeCondition> where;
  const auto values = glyph_attributes(fonts, {});  // names and value names
  for (const auto& text : o.where) where.push_back(parse_attribute_condition(text, values, "fonts --where"));
  const auto tuples = glyph_tuples(static_cast<int64_t>(fonts.fonts.size()), o.split, o.limit, where);
  DDIM_CHECK_ARG(!tuples.empty(), "fonts: no {} tuple meets --where {}", to_string(o.split),
                 fmt::join(o.where, " --where "));
  const int64_t max_bytes = input_limits().max_bytes;
  DDIM_CHECK_ARG(static_cast<int64_t>(tuples.size()) <= max_bytes / (3 * side * side),
                 "fonts: {} glyphs of {}x{} pixels would take more than the limit of {} bytes", tuples.size(),
                 side, side, max_bytes);
  std::vector<int64_t> ids;
  ids.reserve(tuples.size());
  for (const auto& t : tuples) ids.push_back(glyph_tuple_index(t));
  return {render_glyphs(fonts, tuples, side), torch::Tensor(), glyph_attributes(fonts, tuples), "letter", {},
          torch::tensor(ids, torch::kInt64)};
}

}  // namespace ddim
