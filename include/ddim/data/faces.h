// The faces data set: cartoon faces drawn by facesjs (Jeremy Scheff, Apache-2.0,
// https://github.com/zengm-games/facesjs) and rasterised by resvg, rendered offline by the
// node script tools/faces/render.mjs (installed by scripts/install-faces.sh):
// `--data faces[:DIR]`.
//
// Face i is a pure function of its index, the set's seed and its attribute frequencies: the
// renderer seeds facesjs's random draws by (seed, i), and draws every attribute that ddim
// controls from a stream of its own, (seed, i, attribute). So the same index gives the same
// bytes on every run, and a counterfactual -- face i with one attribute set to another value
// -- differs from face i only where that attribute is drawn (the glasses, the hair, the skin).
// The one exception is `male`: facesjs draws most features from the gender, so face i with
// the other gender is another person drawn from the same stream.
//
// Face i belongs to the test split when i % 10 == 9, otherwise to the training split. A
// rendered set DIR holds train/IIIIII.png and test/IIIIII.png (RGB, white background),
// attributes.csv (one row per image), faces.json (the manifest: size, count, seed, the
// frequencies, every attribute with all of its values; written last, so a folder without it
// is not a finished set), README.md and facesjs's licence.
//
// Attributes (CelebA's names where CelebA has the attribute): male, eyeglasses, glasses (the
// style), beard, facial_hair (the style), smiling, hair_colour, hair_style, skin_tone (1 the
// lightest to 11 the darkest), and, derived, bald, black_hair, brown_hair, blond_hair,
// red_hair, no_beard. docs/guide/data.md (Faces) lists the values.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ddim/data/attributes.h"
#include "ddim/data/dataset.h"

namespace ddim {

/// How a faces set is drawn (what render.mjs takes and faces.json records).
struct FaceOptions {
  int64_t size = 64;      ///< image side, 16..512
  int64_t count = 30000;  ///< faces 0..count-1
  uint64_t seed = 0;
  /// Probabilities of binary attributes (male, eyeglasses, beard, smiling), e.g. {"eyeglasses",
  /// 0.5} for glasses on half the faces instead of facesjs's 10%.
  std::map<std::string, double> p;
  /// Multi-valued attributes drawn uniformly over all their values (hair_colour, skin_tone)
  /// instead of from facesjs's palettes.
  std::vector<std::string> uniform;
  int64_t jobs = 0;  ///< renderer threads (0: every CPU); the images do not depend on it

  /// Throws ddim::InvalidArgument naming the bad value (the renderer checks attribute names).
  void validate() const;
  /// The renderer's flags for these options (--size, --seed, --p, --uniform, --jobs).
  std::vector<std::string> arguments() const;
};

/// A rendered set, as its manifest describes it.
struct FaceSet {
  std::string dir;
  FaceOptions options;                ///< size, count, seed, p, uniform (jobs is not recorded)
  std::vector<Attribute> attributes;  ///< every attribute with all its values (labels undefined)
  nlohmann::json manifest;            ///< faces.json as read
};

/// Whether `dir` holds a finished faces set (its faces.json).
bool is_face_set(const std::string& dir);

/// Reads and checks DIR/faces.json. Throws ddim::Error naming the file when it is missing,
/// unreadable or malformed.
FaceSet read_face_set(const std::string& dir);

/// Where `--data faces` (no DIR) keeps its set: $DDIM_CACHE_DIR/faces-64, else
/// $XDG_CACHE_HOME/ddim/faces-64, else ~/.cache/ddim/faces-64.
std::string default_faces_dir();

/// The renderer's folder: $DDIM_FACES_GENERATOR; else the first that holds render.mjs and its
/// npm packages of: PREFIX/share/ddim/faces beside the running PREFIX/bin program (an installed
/// ddim), tools/faces of the source tree ddim was built from, the configured install prefix's
/// share/ddim/faces.
std::string faces_generator_dir();

/// Throws ddim::Error with the command that installs what is missing when node or the
/// renderer's npm packages are not there.
void check_faces_generator();

/// Test when index % 10 == 9, else train.
Split face_split(int64_t index);
/// How many of faces 0..count-1 face_split puts in `split`, computed rather than counted: a
/// manifest's count is checked against the files before it drives any loop.
int64_t faces_in_split(int64_t count, Split split);

/// Renders faces 0..count-1 into `dir` (created; files of the same names are replaced) and
/// returns the finished set. `progress(done, total)` is called as images are written. Throws
/// ddim::InvalidArgument for bad options (as the renderer names them), ddim::Error when the
/// renderer fails, ddim::Interrupted on an interrupt (the folder then has no faces.json).
FaceSet render_face_set(const std::string& dir, const FaceOptions& options,
                        const std::function<void(int64_t done, int64_t total)>& progress = {});

/// One image for the oracle: face `index` with the attributes in `set` overridden.
struct FaceRequest {
  int64_t index = 0;
  std::map<std::string, std::string> set;
};

struct FaceRenders {
  torch::Tensor images;                                        ///< uint8 [N, 3, size, size]
  std::vector<std::map<std::string, std::string>> attributes;  ///< each image's attributes as drawn
};

/// The oracle: renders the requested faces (the set's own pixels where `set` is empty, the
/// counterfactual otherwise). Throws ddim::InvalidArgument naming an unknown attribute or
/// value, or a derived attribute (bald, black_hair, ...) that cannot be set directly.
FaceRenders render_faces(const std::vector<FaceRequest>& requests, const FaceOptions& options);

/// The oracle's output files as render_faces reads them back: `pixels`, n faces of size x size
/// RGB bytes, row-major, and `labels`, a JSON array of n objects of attribute -> value. The
/// renderer is another program: too few bytes, malformed or missing labels throw ddim::Error
/// with one line saying what it wrote.
FaceRenders parse_face_renders(const std::vector<char>& pixels, const std::vector<char>& labels, int64_t n,
                               int64_t size);

/// The face index of a file of a rendered set ("…/train/000123.png" -> 123); throws
/// ddim::Error naming the file when its name is not an index.
int64_t face_file_index(const std::string& path);

}  // namespace ddim
