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

#include "ddim/core/error.h"
#include "ddim/io/tensor_io.h"

namespace ddim {

struct Checkpoint {
  nlohmann::json meta = nlohmann::json::object();
  std::map<std::string, TensorDict> states;
  std::map<std::string, std::string> blobs;

  /// meta["kind"], or "" when absent or not a string.
  std::string kind() const;
};

/// Writes `checkpoint` to `path` atomically.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// Reads a checkpoint. Throws ddim::Error naming the path when the file is missing,
/// truncated, not a ddim checkpoint, or of an unknown version, and ddim::InvalidArgument when
/// its layout or metadata is damaged or a tensor is unacceptable: weights must be finite
/// floating-point or integer tensors (BatchNorm's step counter), blobs uint8 vectors. Messages
/// name the tensor ("states.ema: tensor 'net.conv.weight': 3 of 432 values are NaN ...").
Checkpoint load_checkpoint(const std::string& path);

/// The same checks on an unpickled `.pt` value (see unpickle_bytes); `what` names the source.
Checkpoint checkpoint_from_value(const c10::IValue& value, const std::string& what);

/// Reads a checkpoint and checks that its kind is `kind` (e.g. "denoiser"), with a message
/// that says what the file is instead.
Checkpoint load_checkpoint(const std::string& path, const std::string& kind);

/// The checkpoint a trained model ships as (models/): its metadata and the weights that ddim
/// samples with. Where an EMA exists (states "ema") the raw training weights ("model", and
/// every "*_raw") are dropped, and every blob (optimiser state) is; meta["released"] is true.
/// Such a file loads like any checkpoint but cannot resume training. With `storage` kHalf or
/// kBFloat16 its floating-point tensors are stored at that precision (half the bytes; meta["storage"]
/// names it): every loader copies them into fp32 networks, so the model computes in fp32 with
/// weights rounded to 11 (fp16) or 8 (bf16) significant bits. Integer buffers are kept, and with the
/// default kFloat32 every tensor is kept as it is.
Checkpoint release_checkpoint(const Checkpoint& checkpoint, torch::ScalarType storage = torch::kFloat32);

/// checkpoint.states[name]; throws ddim::InvalidArgument naming `what` when it has none.
const TensorDict& checkpoint_state(const Checkpoint& checkpoint, const std::string& name,
                                   const std::string& what);

/// The parameters and buffers of `module` by name, detached, on the CPU.
TensorDict module_state(const torch::nn::Module& module);

/// Copies `state` into the parameters and buffers of `module`. Throws ddim::Error naming
/// `what` and the first tensor that is missing, unexpected, or of another shape (a
/// checkpoint made for another architecture).
void load_module_state(torch::nn::Module& module, const TensorDict& state, const std::string& what);

// ---------------------------------------------------------------------- metadata access
// Checkpoints made by other people may carry any JSON. These read it with errors that name
// the file and the key, as ddim::InvalidArgument:
//   "run/model.pt: checkpoint metadata: key 'stats.mean': expected an array of numbers, found a string"

/// The value at `key` ("stats.mean": nested objects) of `meta`.
const nlohmann::json& meta_at(const nlohmann::json& meta, const std::string& key, const std::string& what);

/// The value at `key` as T: bool, int64_t, double, float, std::string, or a std::vector of
/// int64_t, float, double or std::string. Integers must be integral; floats finite.
template <class T>
T meta_get(const nlohmann::json& meta, const std::string& key, const std::string& what);

namespace detail {
[[noreturn]] void throw_meta_error(const std::string& what, const std::string& key, std::string problem);
}

/// parse(meta_at(meta, key)), with JSON type errors and ddim::InvalidArgument thrown by
/// `parse` turned into one error naming `what` and `key`.
template <class Parse>
auto meta_parse(const nlohmann::json& meta, const std::string& key, const std::string& what, Parse&& parse) {
  const auto& value = meta_at(meta, key, what);
  try {
    return parse(value);
  } catch (const nlohmann::json::exception& e) {
    detail::throw_meta_error(what, key, e.what());
  } catch (const InvalidArgument& e) {
    detail::throw_meta_error(what, key, e.what());
  } catch (const c10::Error& e) {
    detail::throw_meta_error(what, key, e.what_without_backtrace());
  }
}

/// Serialises an optimizer's state to bytes, and back.
std::string optimizer_bytes(const torch::optim::Optimizer& optimizer);
void load_optimizer_bytes(torch::optim::Optimizer& optimizer, const std::string& bytes,
                          const std::string& what);

}  // namespace ddim
