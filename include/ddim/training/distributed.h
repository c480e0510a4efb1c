// Data-parallel training with PyTorch's own distributed engine, c10d: a Gloo process group
// (CPU tensors; GPU tensors too, which LibTorch's Gloo reduces through host memory: NCCL,
// faster between GPUs, is the GPU issue's to wire in and measure),
// set up from the environment that PyTorch's launchers give every process:
//   torchrun --nproc-per-node=8 --no-python ddim train ...   RANK, WORLD_SIZE, LOCAL_RANK,
//                                                            MASTER_ADDR, MASTER_PORT
//   srun ddim train ...                                      SLURM_PROCID, SLURM_NTASKS,
//                                                            SLURM_LOCALID (+ MASTER_ADDR)
// Every process computes the gradients of its share of the global batch; the gradients are
// summed in buckets, each all-reduced as soon as its last gradient is ready (overlapping the
// rest of the backward pass), and averaged. BatchNorm statistics are averaged after each
// step, so every process holds the same model, EMA and optimizer state. (With BatchNorm each
// process normalises with the statistics of its own share of the batch, as PyTorch's DDP
// without SyncBatchNorm does; with GroupNorm, data-parallel training equals one process
// training on the global batch.) Every wait is bounded: a process that fails or a store
// that does not answer ends the job with an error after `timeout`.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace c10d {
class Store;
}

namespace ddim {

/// Gradient synchronisation between data-parallel processes, as the trainers use it: attach
/// once to the trained module, all_reduce after every backward pass, average_buffers after
/// every optimizer step.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  virtual void attach(torch::nn::Module& module) {}
  virtual void all_reduce(torch::nn::Module& module) = 0;
  virtual void average_buffers(torch::nn::Module& module) = 0;
  /// Copies the first process's parameters and buffers to the others.
  virtual void broadcast(torch::nn::Module& module) {}
  /// True on every process when `local` is true on any (a stop request, say).
  virtual bool any(bool local) { return local; }
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
};

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string launcher;  ///< "torchrun" or "slurm"
  /// torchrun's agent already hosts the store at MASTER_ADDR:MASTER_PORT
  /// (TORCHELASTIC_USE_AGENT_STORE=True): every process, rank 0 included, joins it as a client.
  bool agent_store = false;
  /// torchrun's restart count: the keys of a restarted group must not meet the old ones.
  int restart = 0;
};

/// Whether this build can train data-parallel (it needs gloo's headers at build time).
bool distributed_available();

/// The launcher's environment, or nothing when the process was not started by one (no
/// RANK/WORLD_SIZE or SLURM_PROCID/SLURM_NTASKS). Throws ddim::InvalidArgument naming the
/// variable when values are missing or inconsistent.
std::optional<DistributedEnv> distributed_env();

class ProcessGroup : public GradientSync {
 public:
  /// Joins the group: rank 0 hosts the rendezvous store at MASTER_ADDR:MASTER_PORT. Throws
  /// ddim::Error after `timeout` if the other processes do not arrive.
  ProcessGroup(const DistributedEnv& env, std::chrono::seconds timeout,
               int64_t bucket_elements = int64_t{1} << 18);
  /// Joins a group over an existing store (in-process tests).
  ProcessGroup(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size, std::chrono::seconds timeout,
               int64_t bucket_elements = int64_t{1} << 18);
  ~ProcessGroup() override;

  /// Registers the gradient hooks on `module`'s parameters (once) so that buckets are
  /// all-reduced during the backward pass; all_reduce() then only waits.
  void attach(torch::nn::Module& module) override;
  void all_reduce(torch::nn::Module& module) override;
  void average_buffers(torch::nn::Module& module) override;
  /// Copies rank 0's parameters and buffers to every process.
  void broadcast(torch::nn::Module& module) override;
  bool any(bool local) override;
  /// The largest difference of any parameter between this process and rank 0 (0 when the
  /// processes agree).
  double max_difference_to_rank0(torch::nn::Module& module);
  void barrier();
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
};

}  // namespace ddim
