// A trained denoiser: the network, its schedule, and the statistics of its data. This is
// what a checkpoint of kind "denoiser" holds and what every sampler, inverter and embedder
// works with; `load_denoiser(path)` rebuilds it with no other information.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "ddim/data/dataset.h"
#include "ddim/data/normalization.h"
#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/schedule.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/network.h"

namespace ddim {

/// What a conditional network is conditioned on, example by example: vectors [N, d] (a
/// diffusion autoencoder's semantic codes, or one-hot class labels, network.h's
/// class_condition; undefined: none, which a class-conditional network reads as the null
/// class), and the classifier-free guidance scale w of class-conditional networks.
struct Condition {
  torch::Tensor vectors;
  double guidance = 1.0;

  Condition() = default;
  Condition(torch::Tensor v, double w = 1.0) : vectors(std::move(v)), guidance(w) {}  // NOLINT: implicit
  /// Rows [begin, end) (the guidance stays).
  Condition slice(int64_t begin, int64_t end) const;
};

class Denoiser {
 public:
  Denoiser(std::shared_ptr<EpsNetwork> network, const ScheduleOptions& schedule, Standardizer stats,
           DataInfo data);

  EpsNetwork& network() const { return *network_; }
  std::shared_ptr<EpsNetwork> network_ptr() const { return network_; }
  const Schedule& schedule() const { return schedule_; }
  const Standardizer& stats() const { return stats_; }
  const DataInfo& data() const { return data_; }
  torch::Device device() const;

  /// Moves the network and statistics to `device`.
  void to(const torch::Device& device);

  /// eps(x, rates) of the network in eval mode, conditioned on `cond` when given ([B, d] on the
  /// network's device). The closure runs the network on x's batch and broadcasts n^2 over it.
  /// It returns fp32 whatever the precision, so the DDIM update (Eq. 12) and its inversion
  /// stay in fp32.
  ///
  /// A class-conditional network reads an undefined `cond` as the null class ∅, and with
  /// `guidance` w != 1 applies classifier-free guidance (Ho & Salimans 2022, eq. 6):
  ///     eps = eps(x, ∅) + w (eps(x, c) - eps(x, ∅)),
  /// both branches in one batched call; w = 0 is the unconditional eps and w = 1 the plain
  /// conditional one (one call each). Throws ddim::InvalidArgument for a negative or
  /// non-finite w, or w != 1 on a network that is not class-conditional.
  EpsFn eps_fn(const torch::Tensor& cond = {}, double guidance = 1.0) const;
  EpsFn eps_fn(const Condition& cond) const { return eps_fn(cond.vectors, cond.guidance); }

  /// Evaluates the network under bf16 autocast (ddim/core/autocast.h) in every eps_fn made after
  /// this call: sampling, inversion and synthesis on tensor cores or AVX512-BF16/AMX CPUs.
  void set_mixed_precision(bool bf16) { bf16_ = bf16; }
  bool mixed_precision() const { return bf16_; }

  /// Images in [0, 1] (or points) -> standardised network input.
  torch::Tensor standardize(const torch::Tensor& x) const { return stats_.standardize(x); }
  /// Standardised -> data units; images are clipped to [0, 1].
  torch::Tensor to_data(const torch::Tensor& x) const;
  /// The data range [lo, hi] in standardised units, per channel minimum and maximum over
  /// channels (for x0 clipping). Points: none (infinite).
  std::pair<double, double> standardized_range() const;

  /// Class-conditional models: the class conditions of int64 labels [N] (network.h's
  /// class_condition, on the CPU); negative labels are the null class ∅.
  torch::Tensor class_condition(const torch::Tensor& labels) const;

  /// The description stored in checkpoints (arch, schedule, stats, data).
  nlohmann::json describe() const;

 private:
  std::shared_ptr<EpsNetwork> network_;
  Schedule schedule_;
  Standardizer stats_;
  DataInfo data_;
  bool bf16_ = false;
};

/// Which weights of a training checkpoint to use: the EMA average (the paper samples with it)
/// or the raw trained weights.
enum class Weights { EMA, Raw };
/// "ema", "raw".
DDIM_NAMED_ENUM(Weights);

/// Rebuilds a denoiser from a checkpoint of kind "denoiser", in eval mode on the CPU.
Denoiser load_denoiser(const std::string& path, Weights weights = Weights::EMA);
Denoiser denoiser_from_checkpoint(const Checkpoint& ck, const std::string& what,
                                  Weights weights = Weights::EMA);

/// The standardisation a checkpoint's metadata records ("stats": a mean and a deviation per channel). Throws
/// ddim::InvalidArgument naming `what` when it is missing, has not `channels` of each, or a deviation is not
/// positive.
Standardizer stats_from_meta(const nlohmann::json& meta, const std::string& what, int64_t channels);

/// A short fingerprint of a denoiser checkpoint's identity (architecture, schedule, data, and
/// a hash of the EMA weights), so that embedders can name the denoiser they belong to.
std::string denoiser_fingerprint(const Checkpoint& ck);

}  // namespace ddim
