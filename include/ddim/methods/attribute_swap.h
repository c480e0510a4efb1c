// Editing by parts of a partitioned code (DiffuseGAE section 4.2, 4.4): swapping an attribute's
// part between images (image replacement, its Fig. 6), interpolating one part (its Fig. 9),
// and measuring how often a swap does what it should: an attribute classifier trained on real
// images must see the donor's value of the swapped attribute and the source's value of every
// other one. The model is a PartitionedModel (gae.h): a DiffuseGAE's z_dis, or, as the paper's
// baseline, a plain Diff-AE's z_sem split into parts.
//
// A source is decoded from its own stochastic code x_T (DDIM inversion conditioned on the
// source's own decoder condition, z_sem-hat or z_sem) or, with `random_xt`, from random x_T
// (the paper's image recombination, Fig. 7): the inferred x_T carries much of the image, so it
// resists edits that the code alone would make.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "ddim/data/dataset.h"
#include "ddim/data/group_sampler.h"
#include "ddim/methods/embedding.h"
#include "ddim/methods/gae.h"
#include "ddim/methods/interpolation.h"
#include "ddim/nn/classifier.h"

namespace ddim {

struct SwapOptions {
  EmbedOptions embedding;  ///< S (`steps`), the inversion of the sources' x_T, batch, seed
  bool random_xt = false;  ///< decode from random x_T drawn from embedding.seed instead
};

struct AttributeSwap {
  std::vector<std::string> attributes;
  torch::Tensor sources, donors;       ///< [S, C, H, W], [D, C, H, W] in [0, 1], padding cropped
  torch::Tensor reconstructions;       ///< [S, C, H, W] the sources decoded from their own codes
  std::vector<torch::Tensor> swapped;  ///< per attribute: [S, D, C, H, W], source s with donor d's part
};

/// sources, donors: [S, C, H, W], [D, C, H, W] in [0, 1], the model's shape. Each source is
/// decoded with the part of each named attribute (one at a time) taken from each donor.
AttributeSwap swap_attributes(const PartitionedModel& model, const torch::Tensor& sources,
                              const torch::Tensor& donors, const std::vector<std::string>& attributes,
                              const SwapOptions& options);

/// Two images [2, C, H, W]: the first one's code with only the part of `attribute` moved
/// linearly to the second one's, `frames` points, decoded from the first image's x_T (or a
/// random one): the paper's single-attribute interpolation (its Fig. 9). `codes` holds the
/// decoder's conditions along the path and `seeds` the (constant) x_T.
ImageInterpolation interpolate_attribute(const PartitionedModel& model, const torch::Tensor& ends,
                                         int64_t frames, const std::string& attribute,
                                         const SwapOptions& options);

/// A classifier of one attribute on real images: classifier.h's network trained with that
/// attribute as its class label (ddim train-classifier --class-attribute NAME).
struct AttributeClassifier {
  std::string attribute;
  std::shared_ptr<Classifier> network;
};

/// The attribute-swap success rate over `pairs` (source, donor) pairs.
struct SwapSuccess {
  int64_t pairs = 0;
  std::vector<std::string> swapped;         ///< the attributes swapped (the partition's, with a classifier)
  std::vector<std::string> judged;          ///< the attributes with a classifier
  std::vector<double> real_accuracy;        ///< per judged attribute: the classifier on the real sources
  std::vector<double> reconstruction_kept;  ///< per judged: on the unswapped decodings, the source's value
  std::vector<int64_t> differing;           ///< per swapped: pairs whose source and donor values differ
  std::vector<double> donor_taken;          ///< per swapped: of those, the decoding shows the donor's value
  torch::Tensor kept;                       ///< float64 [swapped, judged]: the source's value of a judged
                                            ///< attribute survives the swap (NaN on the swapped one itself)
  std::vector<double> others_kept;          ///< per swapped: the mean of its row of `kept`
  std::vector<double> success;              ///< per swapped: of the differing pairs, the donor's value taken
                                            ///< and every other judged attribute kept
  /// Against the true swap, where the data set renders counterfactuals (fonts, faces): the
  /// source with the donor's value of the swapped attribute and nothing else changed. Per
  /// swapped attribute, means over the differing pairs: MSE, SSIM and the feature distance
  /// (classifier-feature, LPIPS-like, on that attribute's classifier) of the swapped decoding
  /// to the truth, and the MSE of the unswapped decoding to it (what a swap that changes
  /// nothing scores). Empty without counterfactuals.
  std::vector<double> truth_mse, truth_ssim, truth_feature_distance, unswapped_truth_mse;

  nlohmann::ordered_json to_json() const;
  /// A Markdown table, one row per swapped attribute.
  std::string to_markdown() const;
};

/// DiffuseGAE's Table 2 protocol (its section 4.3): an image x_C decoded from the code
/// reassembled from its group GROUP(x_C, 1), each attribute's part taken from a member that
/// shares that attribute's value with x_C (and nothing else is known to). A plain
/// reconstruction, with the inferred x_T carrying most of the image, is near perfect whether or
/// not the code is disentangled; this decoding is faithful only when every part carries its
/// attribute.
struct GroupReassembly {
  torch::Tensor originals;        ///< [N, C, H, W] in [0, 1], padding cropped: the centres x_C
  torch::Tensor reconstructions;  ///< [N, C, H, W]: x_C decoded from its own code
  torch::Tensor reassembled;      ///< [N, C, H, W]: x_C decoded from its group's parts
  torch::Tensor members;          ///< int64 [N, attribute parts]: member j's index in the data
};

/// The first `n` examples of `data` (images of the model's shape with attribute labels) as
/// centres; members drawn by GroupSampler (ddim/data/group_sampler.h) over `data` (another example with the
/// same value whenever there is one) from embedding.seed. A `rest` part, which no member is known to share,
/// comes from x_C itself (a partition without rest gives the strict protocol). Both decodings start from
/// x_C's own inferred x_T, or from the same random x_T with random_xt. `progress` counts decoded images (2n).
GroupReassembly reassemble_groups(const PartitionedModel& model, const Dataset& data, int64_t n,
                                  const SwapOptions& options, const ProgressFn& progress = {});

/// Draws `pairs` sources (the data's first examples) and a donor for each (uniform among the
/// others, from embedding.seed), swaps each attribute part with a classifier, decodes and
/// classifies. `data` holds images of the model's shape with attribute labels.
SwapSuccess swap_success(const PartitionedModel& model, const Dataset& data,
                         const std::vector<AttributeClassifier>& classifiers, int64_t pairs,
                         const SwapOptions& options, const ProgressFn& progress = {});

}  // namespace ddim
