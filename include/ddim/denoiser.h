// A trained denoiser: the network, its schedule, and the statistics of its data. This is
// what a checkpoint of kind "denoiser" holds and what every sampler, inverter and embedder
// works with; `load_denoiser(path)` rebuilds it with no other information.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "ddim/checkpoint.h"
#include "ddim/dataset.h"
#include "ddim/ddim.h"
#include "ddim/network.h"
#include "ddim/normalization.h"
#include "ddim/schedule.h"

namespace ddim {

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

  /// eps(x, rates) of the network in eval mode, conditioned on `cond` when given ([B, d]).
  /// The closure runs the network on x's batch and broadcasts n^2 over it. It returns fp32
  /// whatever the precision, so the DDIM update (Eq. 12) and its inversion stay in fp32.
  EpsFn eps_fn(const torch::Tensor& cond = {}) const;

  /// Evaluates the network under bf16 autocast (ddim/autocast.h) in every eps_fn made after
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

/// A short fingerprint of a denoiser checkpoint's identity (architecture, schedule, data, and
/// a hash of the EMA weights), so that embedders can name the denoiser they belong to.
std::string denoiser_fingerprint(const Checkpoint& ck);

}  // namespace ddim
