// What the commands that edit or analyse a partitioned code share (swap, interpolate
// --attribute, analyze disentanglement, analyze swap): loading a DiffuseGAE model, or a plain
// Diff-AE with a partition of its z_sem (the paper's baseline), and the data with attributes.
#pragma once

#include <string>

#include "common/sampling_args.h"
#include "ddim/data/dataset.h"
#include "ddim/methods/gae.h"

namespace ddim::cli {

/// --partition: for a plain Diff-AE, how to divide z_sem.
void add_partition_option(CLI::App* sub, std::string& partition);

/// A model with a partitioned code and the data it is analysed on.
struct AttributeModel {
  PartitionedModel model;
  /// The given data source or, when it names no data set, the one the model was trained on
  /// (its checkpoint's data options: the same rendering, size and attributes file), with the
  /// given split and limit.
  DataSource data;
};

/// A GAE checkpoint with its own partition (`partition` must then be empty), or a diffusion
/// autoencoder whose z_sem `partition` divides (default: equal chunks, one per attribute of
/// the data), on `device`.
AttributeModel load_partitioned(const std::string& path, const std::string& partition, const DataSource& data,
                                const SamplerArgs& sampler, const torch::Device& device);

/// `given`, or when it names no data set the one checkpoint `ck` was trained on (its data
/// options: the same rendering, size and attributes file) with the given split and limit.
DataSource resolve_data(const Checkpoint& ck, const DataSource& given, const DataInfo& model);

/// `source` with the model's padding and the global seed, in `split`, its first `limit`
/// examples (0: all). Refuses data without attributes or of another shape than the model's.
Dataset load_attribute_data(DataSource source, const DataInfo& model, Split split, int64_t limit);

}  // namespace ddim::cli
