// Self-describing checkpoints.
//
// A checkpoint is one `.pt` file (LibTorch's pickle format, so Python's torch.load opens it)
// holding a dictionary:
//   "format":  "ddim-checkpoint", "version": 1
//   "meta":    JSON text: what the file is ("kind": denoiser, embedder, ...), the architecture,
//              schedule, data description, normalisation, training step and options
//   "states":  named tensor dictionaries ("model", "ema", ...)
//   "blobs":   named opaque byte strings (the optimizer state), as uint8 tensors
// It is written atomically (temporary file + rename), so an interrupted write never leaves
// a broken checkpoint behind.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "ddim/tensor_io.h"

namespace ddim {

struct Checkpoint {
  nlohmann::json meta = nlohmann::json::object();
  std::map<std::string, TensorDict> states;
  std::map<std::string, std::string> blobs;

  /// meta["kind"], or "" when absent.
  std::string kind() const;
};

/// Writes `checkpoint` to `path` atomically.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// Reads a checkpoint. Throws ddim::Error naming the path when the file is missing,
/// truncated, not a ddim checkpoint, or of an unknown version.
Checkpoint load_checkpoint(const std::string& path);

/// Reads a checkpoint and checks that its kind is `kind` (e.g. "denoiser"), with a message
/// that says what the file is instead.
Checkpoint load_checkpoint(const std::string& path, const std::string& kind);

/// The parameters and buffers of `module` by name, detached, on the CPU.
TensorDict module_state(const torch::nn::Module& module);

/// Copies `state` into the parameters and buffers of `module`. Throws ddim::Error naming
/// `what` and the first tensor that is missing, unexpected, or of another shape (a
/// checkpoint made for another architecture).
void load_module_state(torch::nn::Module& module, const TensorDict& state, const std::string& what);

/// Serialises an optimizer's state to bytes, and back.
std::string optimizer_bytes(const torch::optim::Optimizer& optimizer);
void load_optimizer_bytes(torch::optim::Optimizer& optimizer, const std::string& bytes,
                          const std::string& what);

}  // namespace ddim
