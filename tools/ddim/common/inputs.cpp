#include "common/inputs.h"

#include "common/data_args.h"
#include "ddim/core/error.h"
#include "ddim/data/counterfactual.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"

namespace ddim::cli {

void add_input_options(CLI::App* sub, InputArgs& a, int64_t limit) {
  auto* images = sub->add_option("--images", a.images, "Image files (PNG/JPEG/BMP); otherwise a data split");
  auto* tensor = sub->add_option(
      "--tensor", a.tensor, "Images from a .pt file, [N, C, H, W] in [0, 1] (e.g. ddim sample's samples.pt)");
  tensor->excludes(images);
  add_data_options(sub, a.data, Split::Test);
  a.data.spec = "";
  a.data.options.limit = limit;
  auto* data = sub->get_option("--data");
  data->description("Data set (default: the model's training data)");
  data->default_str("");
  sub->get_option("--limit")->default_val(limit);
  images->excludes(data);
  tensor->excludes(data);
}

DataSource model_data(DataSource d, const DataInfo& model) {
  if (d.spec.empty()) d.spec = model.spec;
  DDIM_CHECK_ARG(!d.spec.empty(), "give --images or --data: the model does not name its data");
  // A generated set (fonts, faces: their attributes are the set's own, every copy has them) of
  // the model's kind labels its examples by the attribute the model's classes are (e.g.
  // eyeglasses), not by the set's default (male). A folder's attributes come from a file the
  // user names, with --class-attribute.
  const auto name = parse_data_spec(d.spec).name;
  const bool generated = name == "fonts" || name == "faces";
  if (generated && d.options.label_attribute.empty() && !model.class_attribute.empty() &&
      name == parse_data_spec(model.spec).name)
    d.options.label_attribute = model.class_attribute;
  // Generated sets are drawn at the model's size, so that their counterfactuals (rendered at the
  // loaded size) are the model's images.
  if (generated && d.options.resize == 0 && model.is_image())
    d.options.resize = model.shape[1] - model.padding.top - model.padding.bottom;
  // Images are padded like the model's by conform_images.
  if (model.is_image() && d.options.pad_to == -1) d.options.pad_to = 0;
  return seeded(d);
}

namespace {
std::vector<torch::Tensor> image_list(const torch::Tensor& batch) {
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < batch.size(0); ++i) out.push_back(batch[i]);
  return out;
}
}  // namespace

Inputs load_inputs(const InputArgs& a, const DataInfo& model) {
  Inputs in;
  if (!a.tensor.empty()) {
    auto t = load_image_batch(a.tensor);
    in.images = conform_images(image_list(t), model);
    for (int64_t i = 0; i < t.size(0); ++i) in.names.push_back(fmt::format("{}[{}]", a.tensor, i));
    return in;
  }
  if (!a.images.empty()) {
    std::vector<torch::Tensor> imgs;
    for (const auto& f : a.images) imgs.push_back(read_image(f));
    in.images = conform_images(imgs, model);
    in.names = a.images;
    return in;
  }
  const auto source = model_data(a.data, model);
  const auto ds = source.load();
  DDIM_CHECK_ARG(ds.size() > 0, "{}: the {} split has no examples", ds.spec, to_string(source.options.split));
  if (ds.is_image()) {
    in.images = conform_images(image_list(ds.all()), model);
  } else {
    DDIM_CHECK_ARG(!model.is_image(), "{} holds points but the model works on images", source.spec);
    in.images = ds.all();
  }
  for (int64_t i = 0; i < ds.size(); ++i)
    in.names.push_back(fmt::format("{}[{}]", to_string(source.options.split), i));
  in.labels = ds.labels;
  in.data = std::make_shared<const Dataset>(ds);
  return in;
}

torch::Tensor true_images(const Inputs& in, const std::vector<int64_t>& rows, const std::string& attribute,
                          const std::vector<std::string>& values, const DataInfo& model) {
  if (!in.data || !has_counterfactuals(*in.data)) return {};
  const auto truth = counterfactuals(*in.data, rows, attribute, values);
  std::vector<torch::Tensor> list;
  for (int64_t i = 0; i < truth.size(0); ++i)
    list.push_back(in.data->padding.crop(truth[i]).to(torch::kFloat32).div(255.0));
  return model.crop(conform_images(list, model));
}

torch::Tensor load_seeds(const std::string& path, const DataInfo& model) {
  return ddim::load_seeds(path, model.shape);
}

}  // namespace ddim::cli
