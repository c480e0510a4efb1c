#include "inputs.h"

#include "ddim/error.h"
#include "ddim/image.h"
#include "ddim/pipeline.h"
#include "ddim/tensor_io.h"

namespace ddim::cli {

void add_input_options(CLI::App* sub, InputArgs& a, int64_t limit) {
  auto* images = sub->add_option("--images", a.images, "Image files (PNG/JPEG/BMP); otherwise a data split");
  auto* tensor = sub->add_option(
      "--tensor", a.tensor, "Images from a .pt file, [N, C, H, W] in [0, 1] (e.g. ddim sample's samples.pt)");
  tensor->excludes(images);
  add_data_options(sub, a.data, "test");
  a.data.spec = "";
  a.data.limit = limit;
  auto* data = sub->get_option("--data");
  data->description("Data set (default: the model's training data)");
  data->default_str("");
  sub->get_option("--limit")->default_val(limit);
  images->excludes(data);
  tensor->excludes(data);
}

Inputs load_inputs(const InputArgs& a, const DataInfo& model) {
  Inputs in;
  if (!a.tensor.empty()) {
    auto t = load_image_batch(a.tensor);
    std::vector<torch::Tensor> imgs;
    for (int64_t i = 0; i < t.size(0); ++i) imgs.push_back(t[i]);
    in.images = conform_images(imgs, model);
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
  DataArgs d = a.data;
  if (d.spec.empty()) d.spec = model.spec;
  DDIM_CHECK_ARG(!d.spec.empty(), "give --images or --data: the model does not name its data");
  if (model.is_image() && d.pad_to == -1) d.pad_to = 0;  // conform_images pads like the model
  const auto ds = d.load();
  if (ds.is_image()) {
    std::vector<torch::Tensor> imgs;
    auto all = ds.all();
    for (int64_t i = 0; i < all.size(0); ++i) imgs.push_back(all[i]);
    in.images = conform_images(imgs, model);
  } else {
    DDIM_CHECK_ARG(!model.is_image(), "{} holds points but the model works on images", d.spec);
    in.images = ds.all();
  }
  for (int64_t i = 0; i < ds.size(); ++i) in.names.push_back(fmt::format("{}[{}]", d.split, i));
  in.labels = ds.labels;
  return in;
}

torch::Tensor load_seeds(const std::string& path, const DataInfo& model) {
  return ddim::load_seeds(path, model.shape);
}

}  // namespace ddim::cli
