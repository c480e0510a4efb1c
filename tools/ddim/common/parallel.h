// Stopping and spreading a command's work: the Ctrl-C/SIGTERM handler that long loops poll,
// and the data-parallel context of a training command started by torchrun or srun.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "ddim/training/distributed.h"

namespace ddim::cli {

/// Installs SIGINT/SIGTERM handlers that only record the request; long loops poll it and
/// stop cleanly (saving what they must). Returns the polling function.
std::function<bool()> install_stop_handler();
/// The signal that requested the stop (0: none).
int stop_signal();
/// Requests the stop as the signal `sig` would (a host's own handler, or a callback that
/// failed); async-signal-safe.
void request_stop(int sig) noexcept;
/// Forgets a stop request (a host that runs several commands in one process).
void reset_stop_request() noexcept;

/// Data-parallel context of a training command: the process group when the process was
/// started by torchrun or srun (RANK/WORLD_SIZE or SLURM_* in the environment).
struct Parallel {
  std::unique_ptr<ddim::ProcessGroup> group;
  bool primary() const { return !group || group->rank() == 0; }
  ddim::GradientSync* sync() const { return group.get(); }
  int64_t world() const { return group ? group->world_size() : 1; }
};
/// Joins the process group if the launcher asked for one (with `timeout_s` on every wait),
/// quiets the console of ranks other than 0 and picks cuda:LOCAL_RANK on GPUs.
Parallel init_parallel(int timeout_s, torch::Device& device);
/// The stop request of a run: a signal, agreed on by every process of a group.
std::function<bool()> stop_request(const Parallel& parallel);

}  // namespace ddim::cli
