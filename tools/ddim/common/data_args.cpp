#include "common/data_args.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "common/app.h"
#include "common/options.h"
#include "common/progress.h"
#include "ddim/data/faces.h"

namespace ddim::cli {
namespace {
std::vector<std::pair<const CLI::App*, const DataSource*>>& data_options_registry() {
  static std::vector<std::pair<const CLI::App*, const DataSource*>> registry;
  return registry;
}
}  // namespace

DataSource seeded(DataSource source) {
  source.options.seed = global_options().seed;
  return source;
}

std::optional<Dataset> validation_split(const DataSource& source) {
  if (!source.has_split(Split::Test)) return std::nullopt;
  return source.with_split(Split::Test).load();
}

void forget_data_options() { data_options_registry().clear(); }

void render_missing_faces() {
  for (const auto& [sub, source] : data_options_registry()) {
    if (!sub->parsed() || source->spec.empty()) continue;  // empty: the model's own data
    const auto spec = parse_data_spec(source->spec);
    // Only the cache renders itself: a DIR the user names must hold a set (the loader says how
    // to render one), so that a mistyped path does not start a render of minutes.
    if (spec.name != "faces" || !spec.path.empty()) continue;
    const auto dir = default_faces_dir();
    std::error_code ec;
    if (is_face_set(dir) || (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec)))
      continue;
    FaceOptions faces;
    faces.seed = 0;  // the canonical set, whatever --seed says (ddim data render-faces takes it)
    spdlog::info(
        "faces: first use: rendering {} faces at {}x{} into {} (once; `ddim data render-faces` "
        "renders other sets)",
        faces.count, faces.size, faces.size, dir);
    Progress bar("render faces", faces.count, "faces");
    render_face_set(dir, faces, [&](int64_t done, int64_t) { bar.update(done); });
    bar.finish();
  }
}

void add_data_options(CLI::App* sub, DataSource& s, Split split) {
  data_options_registry().emplace_back(sub, &s);
  s.options.split = split;
  auto& o = s.options;
  sub->add_option("--data", s.spec,
                  "Data set: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, folder:DIR, "
                  "toy:circles|two-moons|gaussian, fonts[:FONT_DIR], faces[:DIR] (rendered on first use)")
      ->capture_default_str();
  add_enum_option(sub, "--split", o.split, "Which split");
  sub->add_option("--limit", o.limit, "Use only the first N examples of the split (0: all)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--pad-to", o.pad_to,
                  "Pad images with zeros to SIZExSIZE (-1: next multiple of 8, so 28x28 -> "
                  "32x32; 0: never)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 16))
      ->capture_default_str();
  sub->add_option("--crop", o.crop, "folder: crop the central square of this side first (0: no crop)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option(
         "--resize", o.resize,
         "folder, faces: resize to SIZExSIZE after cropping (0: keep); fonts: the image side (0: 32)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--channels", o.channels, "folder, faces: 1 (gray) or 3 (RGB); 0: as the files are")
      ->check(CLI::IsMember({0, 1, 3}))
      ->capture_default_str();
  sub->add_option("--toy-size", o.toy_size, "toy sets: number of points (0: 10000 train, 2000 test)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--attributes", o.attributes_file,
                  "folder: attributes of the images, a CSV file (file,NAME1,NAME2,...) or CelebA's "
                  "list_attr_celeba.txt");
  sub->add_option("--class-attribute", o.label_attribute,
                  "The attribute used as the class label (default: letter for fonts, male for faces, "
                  "the first column of --attributes)");
  sub->add_option(
      "--where", o.where,
      "Keep only the examples with these attribute values, NAME=VALUE[,VALUE...] with FIRST..LAST "
      "for a range in the attribute's order; repeat for several attributes (fonts, faces, folder "
      "with --attributes), e.g. --where letter=A..Z --where size=small,large");
}

}  // namespace ddim::cli
