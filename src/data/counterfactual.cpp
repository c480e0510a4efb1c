#include "ddim/data/counterfactual.h"

#include "ddim/core/error.h"
#include "ddim/data/faces.h"
#include "ddim/data/fonts.h"
#include "ddim/io/image.h"

namespace ddim {
namespace {

// The position of `value` among the attribute's values.
int64_t value_index(const Attribute& a, const std::string& value, const std::string& what) {
  const auto it = std::find(a.values.begin(), a.values.end(), value);
  DDIM_CHECK_ARG(it != a.values.end(), "'{}' is not a value of {} in {} (valid: {})", value, a.name, what,
                 fmt::join(a.values, ", "));
  return it - a.values.begin();
}

torch::Tensor font_counterfactuals(const DataSpec& spec, const Dataset& data,
                                   const std::vector<int64_t>& rows, const Attribute& a,
                                   const std::vector<std::string>& values) {
  const auto fonts = spec.path.empty() ? load_default_fonts() : load_font_dir(spec.path);
  const int64_t side = data.storage.size(2) - data.padding.top - data.padding.bottom;
  std::vector<GlyphTuple> tuples;
  for (size_t i = 0; i < rows.size(); ++i) {
    GlyphTuple t = glyph_tuple_at(data.ids[rows[i]].item<int64_t>());
    const int64_t v = value_index(a, values[i], data.spec);
    if (a.name == "letter")
      t.letter = v;
    else if (a.name == "size")
      t.size = v;
    else if (a.name == "font_colour")
      t.font_colour = v;
    else if (a.name == "background_colour")
      t.background_colour = v;
    else if (a.name == "font")
      t.font = v;
    else
      DDIM_FAIL("fonts: no attribute '{}'", a.name);
    tuples.push_back(t);
  }
  return render_glyphs(fonts, tuples, side);
}

torch::Tensor face_counterfactuals(const DataSpec& spec, const Dataset& data,
                                   const std::vector<int64_t>& rows, const Attribute& a,
                                   const std::vector<std::string>& values) {
  const auto set = read_face_set(spec.path.empty() ? default_faces_dir() : spec.path);
  std::vector<FaceRequest> requests;
  for (size_t i = 0; i < rows.size(); ++i) {
    value_index(a, values[i], data.spec);
    requests.push_back({data.ids[rows[i]].item<int64_t>(), {{a.name, values[i]}}});
  }
  auto images = render_faces(requests, set.options).images;
  // As the loader decodes a set's PNGs (image_folder.cpp): resize in [0, 1], back to bytes.
  const int64_t side = data.storage.size(2) - data.padding.top - data.padding.bottom;
  if (side != set.options.size) {
    images = resize_image(images.to(torch::kFloat32).div_(255.0), side, side)
                 .mul_(255.0)
                 .round_()
                 .to(torch::kUInt8);
  }
  const int64_t channels = data.storage.size(1);
  if (channels != images.size(1))
    images = convert_channels(images.to(torch::kFloat32), channels).round_().to(torch::kUInt8);
  return images;
}

}  // namespace

bool has_counterfactuals(const Dataset& data) {
  if (!data.ids.defined()) return false;
  const auto name = parse_data_spec(data.spec).name;
  return name == "fonts" || name == "faces";
}

torch::Tensor counterfactuals(const Dataset& data, const std::vector<int64_t>& rows,
                              const std::string& attribute, const std::vector<std::string>& values) {
  DDIM_CHECK_ARG(has_counterfactuals(data),
                 "{}: counterfactuals need a generated data set (fonts or faces), whose images can be "
                 "rendered again with an attribute changed",
                 data.spec);
  DDIM_CHECK_ARG(rows.size() == values.size(), "counterfactuals: {} rows but {} values", rows.size(),
                 values.size());
  for (const auto r : rows)
    DDIM_CHECK_ARG(r >= 0 && r < data.size(), "counterfactuals: row {} is outside the {} examples of {}", r,
                   data.size(), data.spec);
  const auto& a = data.attributes[find_attribute(data.attributes, attribute, data.spec)];
  if (rows.empty()) return data.storage.narrow(0, 0, 0).clone();
  const auto spec = parse_data_spec(data.spec);
  auto images = spec.name == "fonts" ? font_counterfactuals(spec, data, rows, a, values)
                                     : face_counterfactuals(spec, data, rows, a, values);
  if (data.padding.any()) images = pad_images(images, data.storage.size(2), nullptr);
  return images.contiguous();
}

}  // namespace ddim
