// The Fonts data set of GZS-Net (Ge et al., "Zero-Shot Synthesis with Group-Supervised
// Learning", ICLR 2021, Sec. 4), rendered rather than downloaded: `--data fonts[:FONT_DIR]`.
//
// An example is one letter drawn in one font, at one size, in one font colour on one
// background colour. Its attribute tuple (letter, size, font_colour, background_colour, font)
// determines the image completely:
//   letter             52: 'A'..'Z', 'a'..'z'
//   size               3: small, medium, large: the font's cap height (the height of 'H') is
//                      0.30, 0.42 or 0.55 of the image side, so 'x' is smaller and 'j' taller
//   font_colour        10 saturated colours (font_colours())
//   background_colour  10 muted colours (background_colours()), a palette disjoint from the
//                      font colours: every font colour is at least 110 (of 255) away from every
//                      background colour in RGB, so no glyph is invisible and every tuple exists
//   font               N TrueType/OpenType files, by file name (24 by default, default_fonts())
// The glyph's bounding box is centred in the image; its anti-aliased coverage a (0..255, from
// stb_truetype) blends the two colours per channel as (bg (255 - a) + fg a + 127) / 255, in
// integers. A glyph wider or taller than the side less a margin of side/16 on each side is
// scaled down to fit (none of the default fonts needs it), so the image's outer ring of
// pixels is always pure background.
//
// Tuples are numbered in mixed radix, independent of the number of fonts:
//   index = (((font * 10 + background_colour) * 10 + font_colour) * 3 + size) * 52 + letter
// The split is a function of that index: a tuple belongs to the test split when
// splitmix64(index ^ 0x666f6e74732d7473) % 5 == 0 (about 20%, the 80:20 split of the
// DiffuseGAE paper), otherwise to the training split. Test tuples are thus unseen
// combinations of seen attribute values.
// A split lists its tuples in a fixed pseudo-random order (a 4-round Feistel permutation of
// [0, total) with cycle walking), so that its first `limit` examples are a diverse subset.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ddim/data/attributes.h"
#include "ddim/data/dataset.h"

namespace ddim {

/// One font file, loaded and checked: it parses as a TrueType (or CFF OpenType) font and has
/// a non-empty glyph for each of 'A'..'Z' and 'a'..'z'.
class Font {
 public:
  /// Loads `path`. Throws ddim::Error naming the path when the file is missing, is not a
  /// font, or lacks one of the 52 letters.
  static Font load(const std::string& path);

  /// The file name without its extension, e.g. "DejaVuSans-Bold".
  const std::string& name() const;
  const std::string& path() const;

  /// The anti-aliased coverage of `letter` (0..51) at `size` (0..2) centred in a side x side
  /// image: uint8 [side, side], 0 (background) to 255 (ink). See the top of this header.
  torch::Tensor coverage(int64_t letter, int64_t size, int64_t side) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

/// The fonts of a data set, in file-name order (the `font` attribute's values).
struct FontSet {
  std::vector<Font> fonts;
  std::vector<std::string> names() const;
};

/// One of the default fonts: a file under /usr/share/fonts and the Debian package that
/// installs it (scripts/install-deps.sh installs them all).
struct DefaultFont {
  std::string file;     ///< relative to the font root, e.g. "truetype/dejavu/DejaVuSans.ttf"
  std::string package;  ///< e.g. "fonts-dejavu-core"
};
/// The 24 default fonts, sorted by file name.
const std::vector<DefaultFont>& default_fonts();

/// Loads the default fonts from under `root`. Throws ddim::Error listing every missing file
/// with its package (and suggesting scripts/install-deps.sh), or naming a file that is not a
/// usable font.
FontSet load_default_fonts(const std::string& root = "/usr/share/fonts");

/// Loads every .ttf and .otf file directly in `dir`, sorted by file name. Throws ddim::Error
/// naming the directory when it is missing or holds no font file, or naming the first file
/// that is not a usable font.
FontSet load_font_dir(const std::string& dir);

/// Attribute values.
const std::vector<std::string>& glyph_letters();  ///< "A".."Z", "a".."z"
struct GlyphSize {
  std::string name;
  double cap_height;  ///< of the image side
};
const std::vector<GlyphSize>& glyph_sizes();
struct Colour {
  std::string name;
  uint8_t r, g, b;
};
const std::vector<Colour>& font_colours();
const std::vector<Colour>& background_colours();

/// An example of the Fonts set: one value index per attribute.
struct GlyphTuple {
  int64_t letter = 0;             ///< 0..51, into glyph_letters()
  int64_t size = 0;               ///< 0..2, into glyph_sizes()
  int64_t font_colour = 0;        ///< 0..9, into font_colours()
  int64_t background_colour = 0;  ///< 0..9, into background_colours()
  int64_t font = 0;               ///< into the FontSet
  bool operator==(const GlyphTuple& o) const {
    return letter == o.letter && size == o.size && font_colour == o.font_colour &&
           background_colour == o.background_colour && font == o.font;
  }
};

/// The number of tuples with `fonts` fonts: 52 * 3 * 10 * 10 * fonts.
int64_t glyph_tuple_count(int64_t fonts);
/// The mixed-radix index of a tuple (above) and back.
int64_t glyph_tuple_index(const GlyphTuple& t);
GlyphTuple glyph_tuple_at(int64_t index);
/// Split::Test or Split::Train, by the rule above.
Split glyph_tuple_split(const GlyphTuple& t);

/// The tuples of `split` (Train, Test or All) for `fonts` fonts in the data set's fixed
/// order that meet every condition of `where` (on glyph_attributes' names and values), the
/// first `limit` of them (0: all). A subset keeps the split of every tuple.
std::vector<GlyphTuple> glyph_tuples(int64_t fonts, Split split, int64_t limit = 0,
                                     const std::vector<AttributeCondition>& where = {});

/// Renders one example: uint8 [3, side, side] (side >= 16). Throws ddim::InvalidArgument for
/// an attribute value out of range or a side below 16.
torch::Tensor render_glyph(const FontSet& fonts, const GlyphTuple& t, int64_t side);

/// Renders many examples, in parallel: uint8 [N, 3, side, side], image i equal to
/// render_glyph(fonts, tuples[i], side). Each (font, letter, size) is rasterised once.
torch::Tensor render_glyphs(const FontSet& fonts, const std::vector<GlyphTuple>& tuples, int64_t side);

/// The attributes of `tuples`, in the order letter, size, font_colour, background_colour,
/// font (the font values are the FontSet's names).
std::vector<Attribute> glyph_attributes(const FontSet& fonts, const std::vector<GlyphTuple>& tuples);

}  // namespace ddim
