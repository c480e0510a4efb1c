#include "common/gae_args.h"

#include "common/data_args.h"
#include "ddim/core/error.h"

namespace ddim::cli {

void add_partition_option(CLI::App* sub, std::string& partition) {
  sub->add_option(
      "--partition", partition,
      "A plain Diff-AE: parts of z_sem, NAME:SIZE,... (data attributes or rest), or names alone for "
      "equal chunks (default: one equal chunk per attribute of the data). A GAE has its own.");
}

Dataset load_attribute_data(DataSource source, const DataInfo& model, Split split, int64_t limit) {
  if (source.options.pad_to == -1 && model.is_image()) source.options.pad_to = model.shape[1];
  source.options.split = split;
  source.options.limit = limit;
  auto data = seeded(source).load();
  DDIM_CHECK_ARG(!data.attributes.empty(),
                 "{}: the data has no attributes (fonts has five; a folder gets them from --attributes FILE)",
                 data.spec);
  DDIM_CHECK_ARG(data.size() > 0, "{}: the {} split has no examples", data.spec, to_string(split));
  DDIM_CHECK_ARG(data.is_image() && data.example_shape() == model.shape,
                 "{}: its examples ({}) do not have the model's shape ({})", data.spec,
                 fmt::join(data.example_shape(), "x"), fmt::join(model.shape, "x"));
  return data;
}

DataSource resolve_data(const Checkpoint& ck, const DataSource& given, const DataInfo& model) {
  if (!given.spec.empty()) return given;
  DataSource d = given;
  if (ck.meta.contains("data_options")) {
    d = DataSource::from_json(ck.meta.at("data_options"));
    d.options.split = given.options.split;
    d.options.limit = given.options.limit;
  } else {
    d.spec = model.spec;
  }
  DDIM_CHECK_ARG(!d.spec.empty(), "give --data: the model does not name its data");
  return d;
}

AttributeModel load_partitioned(const std::string& path, const std::string& partition, const DataSource& data,
                                const SamplerArgs& sampler, const torch::Device& device) {
  const auto ck = load_checkpoint(path);
  if (ck.kind() == "gae") {
    auto m = gae_from_checkpoint(ck, path, sampler.weights);
    DDIM_CHECK_ARG(partition.empty(),
                   "{} is a DiffuseGAE with its own partition {}; a partition is given only to a "
                   "plain Diff-AE",
                   path, m.partition.to_string());
    m.denoiser.to(device);
    m.denoiser.set_mixed_precision(sampler.bf16);
    return {PartitionedModel(m), resolve_data(ck, data, m.denoiser.data())};
  }
  auto d = load_model(ck, path, sampler, device);
  const int64_t z = d.network().cond_dim();
  DDIM_CHECK_ARG(z > 0, "{} is neither a DiffuseGAE (ddim train-gae) nor a diffusion autoencoder", path);
  const auto source = resolve_data(ck, data, d.data());
  const auto names = attribute_names(load_attribute_data(source, d.data(), Split::Test, 1).attributes);
  return {PartitionedModel(
              d, partition.empty() ? Partition::equal(names, z) : Partition::parse(partition, names, z)),
          source};
}

}  // namespace ddim::cli
