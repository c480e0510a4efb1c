// The noise-prediction network interface, shared by the U-Net (images) and the MLP (points).
//
// Every denoiser maps (x_t, n(t)^2[, c]) to a prediction of the noise eps in
// x_t = s x_0 + n eps (seed paper eq. 9-10): x_t standardised data, n^2 the noise variance
// (the network never sees a step index), c an optional conditioning vector: Diff-AE's
// semantic code, or a class label as a one-hot vector (with one extra "null" class for
// classifier-free guidance). A network describes itself as JSON, so that a checkpoint can
// rebuild it.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

#include "ddim/core/names.h"
#include "ddim/nn/swish.h"

namespace ddim {

/// The kinds of noise-prediction networks: the paper's U-Net, the MLP for vectors, and the
/// diffusion autoencoder (semantic encoder + AdaGN U-Net).
enum class NetworkKind { UNet, MLP, DiffAE };
/// "unet", "mlp", "diffae" (the "kind" of a network description).
DDIM_NAMED_ENUM(NetworkKind);

/// What a network's conditioning vector is.
enum class Conditioning {
  None,      ///< an unconditional network
  Vector,    ///< a vector the caller supplies
  Semantic,  ///< Diff-AE's semantic code z_sem of the clean image (condition(x0))
  Class,     ///< a class label: one-hot over classes + 1, the last one the null class
};

class EpsNetwork : public torch::nn::Module {
 public:
  /// x: [B, ...] standardised noisy data; noise_variance: [B] (n(t)^2);
  /// cond: [B, cond_dim], or undefined for unconditional networks.
  /// Returns the predicted noise, shaped like x.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_variance,
                                const torch::Tensor& cond = {}) = 0;
  /// The architecture, as rebuilt by make_network.
  virtual nlohmann::json describe() const = 0;
  /// Size of the conditioning vector (0: unconditional).
  virtual int64_t cond_dim() const { return 0; }
  /// The conditioning vector that clean examples x0 (standardised, [B, ...]) bring with
  /// them: Diff-AE's semantic code. Undefined for other networks.
  virtual torch::Tensor condition(const torch::Tensor& x0) { return {}; }
  /// What the conditioning vector is.
  virtual Conditioning conditioning() const {
    return cond_dim() > 0 ? Conditioning::Vector : Conditioning::None;
  }
  /// Class-conditional networks: the number of classes (without the null class); else 0.
  virtual int64_t classes() const { return 0; }
  /// Memory layout of convolutions: channels-last (NHWC) or the default (NCHW). Networks
  /// without convolutions ignore it.
  virtual void set_channels_last(bool on) {}
};

/// Sinusoidal embedding of a scalar per example (keras.io DDIM example, which the paper's code
/// copies): `dims`/2 frequencies log-spaced from 1 to `max_frequency`, angular speed 2 pi f,
/// embedding [sin(2 pi f v), cos(2 pi f v)]. v: [B] -> [B, dims].
torch::Tensor sinusoidal_embedding(const torch::Tensor& v, int64_t dims, double max_frequency = 1000.0);
/// Its `dims`/2 frequencies f, [dims / 2] (what the prepared U-Net's own loop takes).
torch::Tensor sinusoidal_frequencies(int64_t dims, double max_frequency = 1000.0,
                                     const torch::TensorOptions& options = torch::kFloat);

/// Builds a network from its description ({"kind": "unet", ...} or {"kind": "mlp", ...}).
/// Throws ddim::InvalidArgument for an unknown kind or bad options.
std::shared_ptr<EpsNetwork> make_network(const nlohmann::json& description);

/// Class labels as the conditions of a class-conditional network: int64 labels [N] in
/// [0, classes), or `classes` (or any negative label) for the null class ∅ -> one-hot float
/// [N, classes + 1]. Throws ddim::InvalidArgument for a label above `classes`.
torch::Tensor class_condition(const torch::Tensor& labels, int64_t classes);
/// The null class ∅ for `n` examples, [n, classes + 1].
torch::Tensor null_condition(int64_t n, int64_t classes);

/// Number of trainable parameters.
int64_t count_parameters(const torch::nn::Module& module);

/// Bilinear upsampling by 2 ([N, C, H, W] -> [N, C, 2H, 2W], align_corners false: Keras's
/// UpSampling2D(interpolation="bilinear")). With gradients, a bf16 input on the CPU goes through
/// fp32 with LibTorch 1.x, whose bf16 backward is 3.7x slower than fp32's (64x96x16x16, same
/// machine): the forward result is the same bf16 rounding, the gradient a more exact one.
inline torch::Tensor upsample2x(const torch::Tensor& x) {
  const std::vector<int64_t> size = {x.size(2) * 2, x.size(3) * 2};
#if TORCH_VERSION_MAJOR < 2
  if (x.scalar_type() == torch::kBFloat16 && x.device().is_cpu() && x.requires_grad() &&
      torch::GradMode::is_enabled())
    return torch::upsample_bilinear2d(x.to(torch::kFloat), size, /*align_corners=*/false)
        .to(torch::kBFloat16);
#endif
  return torch::upsample_bilinear2d(x, size, /*align_corners=*/false);
}

}  // namespace ddim
