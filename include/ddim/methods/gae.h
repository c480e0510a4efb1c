// DiffuseGAE (Leng et al. 2023, "DiffuseGAE: Controllable and High-fidelity Image
// Manipulation from Disentangled Representation"): a group-supervised autoencoder (GAE) on a
// diffusion autoencoder's semantic code. The GAE encodes z_sem into z_dis, whose dimensions
// are divided among the data's attributes (a Partition); its decoder maps z_dis back to
// z_sem-hat, which conditions the Diff-AE's decoder (its Fig. 1). Editing is replacing parts:
// swapping the `font` part of z_dis between two images swaps their fonts.
//
//   z_sem --E--> z_dis = [letter | font | ... | rest] --D--> z_sem-hat --> DDIM decoder
//
// Training (its section 3.3) draws groups GROUP(x_C, 1) from the data's attribute labels
// (eq. 9): a centre and, for each attribute part, a member that shares that attribute's value
// with it. The losses (all distances in z_sem's standardised units, or z_dis's):
//   L_r   reconstruction: d(D(E(z)), z) over centres and members.
//   L_ss  supervised attribute swap (after GZS-Net's swap reconstruction, Ge et al. 2021): a
//         centre and its member j share attribute j, so exchanging part j of their codes must
//         reconstruct both; and the code reassembled from part j of member j, for every
//         attribute j, must reconstruct the centre. The reassembled code's `rest` comes from
//         another centre of the batch, not the centre's own: with its own rest an encoder that
//         routed every attribute into `rest` would meet L_ss (and L_r, L_ur) at no cost, since
//         swapping empty attribute parts changes nothing (reassemble_group).
//   L_ur  unsupervised attribute reassembly (eq. 10): each part taken from a random code of the
//         batch, z_u; z_u -D-> z-hat -E-> z_u-hat; d(z_u-hat, z_u).
//   L_dis = L_r + lambda_ss L_ss + lambda_ur L_ur (eq. 11).
// Post hoc the Diff-AE is frozen and the GAE trains on its codes; fine-tuning trains both on
// L_simple + gamma L_dis (eq. 12), the Diff-AE's decoder conditioned on z_sem-hat. L_dis's
// targets are held fixed (no gradient through them) and, while fine-tuning, z_sem is
// standardised by its batch's own statistics (Gae::track_statistics): with frozen statistics
// the Diff-AE's encoder could lower L_dis by shrinking z_sem, since every distance shrinks
// with it, and the codes would collapse.
//
// The GAE (its section 3.4): encoder and decoder each an input map, four MLP blocks and two
// bottleneck blocks, all residual (skip) blocks, so the last block is a skip as the paper
// requires, then an output map. The encoder normalises with LayerNorm, the decoder with
// GroupNorm: neither uses batch statistics, so every code is encoded on its own (swaps do not
// depend on the batch) and data-parallel training needs no synchronised norms. SiLU throughout.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ddim/data/attributes.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/loss.h"
#include "ddim/nn/network.h"

namespace ddim {

/// How z_dis is divided: named parts of given sizes, in order. A part's name is one of the
/// data's attributes, or "rest" (dimensions assigned to no attribute, at most one such part).
class Partition {
 public:
  struct Part {
    std::string name;
    int64_t size = 0;
    int64_t offset = 0;  ///< first dimension of the part in z_dis
  };
  static const std::string kRest;  ///< "rest"

  Partition() = default;
  /// Parts in order; throws ddim::InvalidArgument for an empty list, a non-positive size, or
  /// a repeated name.
  explicit Partition(const std::vector<std::pair<std::string, int64_t>>& parts);

  /// Parses "letter:24,font:16,rest:8" against the data's attribute names (an unknown name is
  /// refused with the valid ones). A "rest" without a size takes what the others leave of
  /// `dim`; with `dim` > 0 the sizes must add up to it. Names alone ("letter,font,size") split
  /// `dim` into equal chunks (equal()).
  static Partition parse(const std::string& text, const std::vector<std::string>& attributes,
                         int64_t dim = 0);
  /// `names` over `dim` dimensions in chunks as equal as possible (the first dim % n one
  /// larger): the paper's Diff-AE baseline, z_sem split into one chunk per attribute.
  static Partition equal(const std::vector<std::string>& names, int64_t dim);

  const std::vector<Part>& parts() const { return parts_; }
  size_t size() const { return parts_.size(); }
  int64_t dim() const;
  /// The position of the part called `name`; throws ddim::InvalidArgument listing the parts.
  size_t index(const std::string& name) const;
  std::vector<std::string> names() const;
  /// The names of the attribute parts (all but "rest"), in order.
  std::vector<std::string> attributes() const;
  /// Part k of codes [N, dim()] -> [N, size].
  torch::Tensor part(const torch::Tensor& codes, size_t k) const;
  /// "letter:24,font:16,rest:8".
  std::string to_string() const;
  /// [{"name", "size"}, ...].
  nlohmann::json to_json() const;
  static Partition from_json(const nlohmann::json& j);

 private:
  std::vector<Part> parts_;
};

/// `a` [N, dim] with the parts named in `names` taken from `b` ([N, dim], or [1, dim] for
/// every row). Throws ddim::InvalidArgument for an unknown name or shapes that do not fit.
torch::Tensor swap_partitions(const torch::Tensor& a, const torch::Tensor& b, const Partition& partition,
                              const std::vector<std::string>& names);

/// Codes assembled part by part from rows of `codes` [B, dim]: row i of the result takes part
/// k from row sources[i][k] (int64 [B', parts]). The reassembly f of eq. 10.
torch::Tensor assemble_parts(const torch::Tensor& codes, const torch::Tensor& sources,
                             const Partition& partition);

/// The code of each centre rebuilt from its group GROUP(x_C, 1) (L_ss's third term): attribute
/// part j from member j's code (`members` [B, m, dim], member j sharing attribute j's value
/// with its centre), and the `rest` part, which no member is known to share, from the next
/// centre of the batch (row (i + 1) mod B of `centres` [B, dim], B >= 2). Taking the centre's
/// own rest would let every attribute hide in it.
torch::Tensor reassemble_group(const torch::Tensor& centres, const torch::Tensor& members,
                               const Partition& partition);

struct GaeOptions {
  int64_t z_dim = 64;             ///< size of z_sem (the encoder's input, the decoder's output)
  int64_t dis_dim = 64;           ///< size of z_dis (the partition's total)
  int64_t width = 256;            ///< hidden width of the blocks
  int64_t mlp_blocks = 4;         ///< residual MLP blocks in each of encoder and decoder
  int64_t bottleneck_blocks = 2;  ///< residual bottleneck blocks after them
  int64_t bottleneck_ratio = 4;   ///< a bottleneck narrows the width by this factor
  int64_t groups = 8;             ///< the decoder's GroupNorm groups

  nlohmann::json to_json() const;
  static GaeOptions from_json(const nlohmann::json& j);
  /// Throws ddim::InvalidArgument naming the bad value.
  void validate() const;
};

class GaeCoder;  // one half of the GAE (src/methods/gae.cpp)

/// The group-supervised autoencoder. It stores the mean and standard deviation of the codes it
/// was trained on and works in those standardised units inside.
class Gae : public torch::nn::Module {
 public:
  explicit Gae(const GaeOptions& options);
  /// Sets the statistics of z_sem from codes [N, z_dim] (constant dimensions get std 1).
  void set_statistics(const torch::Tensor& codes);
  /// While on and in training mode, standardize() uses the mean and standard deviation of the
  /// batch it is given (N >= 2; gradients flow through them, so that scaling z_sem changes
  /// nothing) and folds them into the stored statistics as a running average with weight
  /// `momentum`, which decode() and eval mode use: batch normalisation of z_sem, for
  /// fine-tuning, where z_sem moves (eq. 12). Off by default.
  void track_statistics(bool on, double momentum = 0.01);
  /// z_sem [N, z_dim] -> standardised.
  torch::Tensor standardize(const torch::Tensor& z_sem);
  /// The stored statistics, [z_dim] each.
  const torch::Tensor& z_mean() const { return mean_; }
  const torch::Tensor& z_std() const { return std_; }
  /// z_sem [N, z_dim] -> z_dis [N, dis_dim].
  torch::Tensor encode(const torch::Tensor& z_sem);
  /// Standardised z_sem [N, z_dim] -> z_dis [N, dis_dim].
  torch::Tensor encode_standardized(const torch::Tensor& z);
  /// z_dis [N, dis_dim] -> z_sem-hat [N, z_dim] in standardised units.
  torch::Tensor decode_standardized(const torch::Tensor& z_dis);
  /// z_dis [N, dis_dim] -> z_sem-hat [N, z_dim].
  torch::Tensor decode(const torch::Tensor& z_dis);
  /// D(E(z_sem)).
  torch::Tensor forward(const torch::Tensor& z_sem) { return decode(encode(z_sem)); }
  const GaeOptions& options() const { return options_; }

 private:
  GaeOptions options_;
  std::shared_ptr<GaeCoder> encoder_, decoder_;
  torch::Tensor mean_, std_;
  bool track_ = false;
  double momentum_ = 0.01;
};

/// The weights of eq. 11 (and 12).
struct GaeLossWeights {
  double lambda_ss = 1.0;  ///< L_ss (the paper: 1.0 post hoc, 0.5 when fine-tuning)
  double lambda_ur = 0.5;  ///< L_ur (the paper: 0.5 both)
};

struct GaeLosses {
  torch::Tensor reconstruction;  ///< L_r
  torch::Tensor swap;            ///< L_ss
  torch::Tensor reassembly;      ///< L_ur
  torch::Tensor total;           ///< L_dis (eq. 11)
};

/// L_r of codes z_sem [N, z_dim].
torch::Tensor gae_reconstruction_loss(Gae& gae, const torch::Tensor& z_sem, Loss loss = Loss::MAE);
/// L_ss of centres [B, z_dim] and members [B, m, z_dim], member j sharing the value of the
/// partition's attribute part j (partition.attributes()[j]) with its centre. Zero when the
/// partition has no attribute part (nothing is supervised).
torch::Tensor supervised_swap_loss(Gae& gae, const Partition& partition, const torch::Tensor& centres,
                                   const torch::Tensor& members, Loss loss = Loss::MAE);
/// L_ur of codes z_sem [B, z_dim], part k of output row i taken from row sources[i][k]
/// (int64 [B, parts]). The target z_u is held fixed (no gradient through it), so that the
/// encoder cannot lower the loss by shrinking z_dis.
torch::Tensor reassembly_loss(Gae& gae, const Partition& partition, const torch::Tensor& z_sem,
                              const torch::Tensor& sources, Loss loss = Loss::MAE);
/// All three and L_dis, encoding each code once; L_ur reassembles the centres.
GaeLosses gae_losses(Gae& gae, const Partition& partition, const torch::Tensor& centres,
                     const torch::Tensor& members, const torch::Tensor& sources,
                     const GaeLossWeights& weights, Loss loss = Loss::MAE);

/// GROUP(x_C, 1) (eq. 9) from attribute labels: for each centre and each attribute, a member
/// with the same value of that attribute (another example than the centre when the value has
/// one), uniformly among them. The paper asks the members to share exactly one value with the
/// centre; on a subset of the data such a member often does not exist, and uniform members
/// rarely share more than one (only attributes with few values, like size, often coincide).
/// Draws are a pure function of (seed, step), like EpochOrder's, so a resumed run draws what
/// the uninterrupted run drew.
class GroupSampler {
 public:
  /// labels: int64 [N] per attribute (the partition's attribute parts, in order).
  GroupSampler(const std::vector<torch::Tensor>& labels, uint64_t seed);
  /// Members int64 [B, m] of centres int64 [B] at `step`. With several data-parallel processes
  /// the draws are those of the global batch of B * world centres, of which this process
  /// (`rank`) holds rows [rank B, (rank + 1) B).
  torch::Tensor members(const torch::Tensor& centres, int64_t step, int64_t world = 1,
                        int64_t rank = 0) const;
  /// The reassembly of L_ur at `step`: int64 [batch, parts], column k a random permutation of
  /// 0..batch-1.
  torch::Tensor reassembly(int64_t batch, int64_t parts, int64_t step) const;
  int64_t attributes() const { return static_cast<int64_t>(by_value_.size()); }

 private:
  uint64_t seed_;
  std::vector<torch::Tensor> labels_;     ///< per attribute: int64 [N]
  std::vector<torch::Tensor> by_value_;   ///< per attribute: example indices sorted by value
  std::vector<torch::Tensor> starts_;     ///< per attribute: int64 [values + 1] offsets into by_value_
  std::vector<torch::Tensor> positions_;  ///< per attribute: each example's position in by_value_
};

/// A diffusion autoencoder conditioned through a GAE: condition(x0) is z_sem-hat =
/// D(E(Enc(x0))), so that every sampler, inverter and embedding of a Diff-AE runs through the
/// GAE unchanged (`ddim reconstruct`, `interpolate`, `encode` on a GAE model).
class DiffuseGAE : public EpsNetwork {
 public:
  DiffuseGAE(std::shared_ptr<EpsNetwork> autoencoder, std::shared_ptr<Gae> gae);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_variance,
                        const torch::Tensor& cond = {}) override {
    return autoencoder_->forward(x, noise_variance, cond);
  }
  /// z_sem-hat of clean standardised images [B, C, H, W].
  torch::Tensor condition(const torch::Tensor& x0) override;
  /// z_dis of clean standardised images.
  torch::Tensor codes(const torch::Tensor& x0);
  /// {"kind": "diffuse-gae", "autoencoder": ..., "gae": ...} (not rebuilt by make_network:
  /// load_gae reads a GAE checkpoint).
  nlohmann::json describe() const override;
  int64_t cond_dim() const override { return autoencoder_->cond_dim(); }
  Conditioning conditioning() const override { return Conditioning::Semantic; }
  void set_channels_last(bool on) override { autoencoder_->set_channels_last(on); }
  EpsNetwork& autoencoder() { return *autoencoder_; }
  Gae& gae() { return *gae_; }

 private:
  std::shared_ptr<EpsNetwork> autoencoder_;
  std::shared_ptr<Gae> gae_;
};

/// The Diff-AE a GAE belongs to.
struct AutoencoderRef {
  std::string path;
  std::string fingerprint;  ///< denoiser_fingerprint of the Diff-AE checkpoint it started from
  int64_t step = 0;
  bool finetuned = false;  ///< the checkpoint carries fine-tuned Diff-AE weights (eq. 12)
  nlohmann::json to_json() const;
  static AutoencoderRef from_json(const nlohmann::json& j);
};

/// A trained DiffuseGAE, as a checkpoint of kind "gae" holds it. The checkpoint carries the
/// Diff-AE's weights (frozen post hoc, fine-tuned after eq. 12), so that it rebuilds the whole
/// model alone.
struct GaeModel {
  Denoiser denoiser;         ///< network() is a DiffuseGAE: decodes through z_sem-hat
  Denoiser autoencoder;      ///< the plain Diff-AE (the same weights, conditioned on z_sem)
  std::shared_ptr<Gae> gae;  ///< eval mode, no gradients
  Partition partition;
  AutoencoderRef reference;
  std::vector<Attribute> attributes;  ///< the training data's attributes: names and value names (no labels)
};

/// Rebuilds a GAE model from a checkpoint of kind "gae", in eval mode on the CPU; `weights`
/// picks the EMA or raw weights of the GAE (and of a fine-tuned Diff-AE).
GaeModel gae_from_checkpoint(const Checkpoint& ck, const std::string& what, Weights weights = Weights::EMA);

/// The Diff-AE that a GAE checkpoint carries, as a checkpoint of kind "denoiser" (its metadata, its weights
/// as "ema"): post hoc (eq. 11) the Diff-AE the GAE was trained on, bit for bit; fine-tuned (eq. 12) the
/// Diff-AE after it (`weights` Raw: its raw training weights where the file keeps them). Every Diff-AE
/// command loads it, so a shipped GAE need not ship its Diff-AE beside it.
Checkpoint autoencoder_checkpoint(const Checkpoint& gae, const std::string& what,
                                  Weights weights = Weights::EMA);
GaeModel load_gae(const std::string& path, Weights weights = Weights::EMA);

/// A diffusion autoencoder's code divided among attributes: z_dis of a DiffuseGAE model, or
/// z_sem itself of a plain Diff-AE (the paper's baseline). What swapping, attribute
/// interpolation and the disentanglement analysis work on.
class PartitionedModel {
 public:
  /// A GAE model with its own partition.
  explicit PartitionedModel(const GaeModel& model);
  /// A plain diffusion autoencoder whose z_sem is divided by `partition` (its dim must be
  /// z_sem's). Throws ddim::InvalidArgument for a model without a semantic code.
  PartitionedModel(const Denoiser& autoencoder, const Partition& partition);

  /// The model that decodes: conditioned on z_sem-hat (GAE) or z_sem.
  const Denoiser& denoiser() const { return denoiser_; }
  const Partition& partition() const { return partition_; }
  bool is_gae() const { return gae_ != nullptr; }
  /// Codes [N, partition().dim()] of images [N, C, H, W] in [0, 1], on the CPU.
  torch::Tensor encode(const torch::Tensor& images, int64_t batch = 256) const;
  /// The decoder's condition for codes [N, dim]: z_sem-hat = D(codes), or the codes; CPU.
  torch::Tensor condition(const torch::Tensor& codes) const;
  /// "DiffuseGAE (z_dis)" or "Diff-AE (z_sem)", for titles.
  std::string describe() const;

 private:
  Denoiser denoiser_;
  Partition partition_;
  std::shared_ptr<Gae> gae_;
  std::shared_ptr<EpsNetwork> autoencoder_;  ///< the Diff-AE network whose condition() is z_sem
};

}  // namespace ddim
