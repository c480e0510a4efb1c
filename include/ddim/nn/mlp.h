// A deep MLP noise predictor for vectors: the denoiser of the 2-D toy sets (seed paper Fig. 9)
// and, with a larger width, Diff-AE's latent DDIM over semantic codes (Diff-AE section 3.3,
// "MLP with skip connections").
//
// Input [B, D] and the noise-variance embedding (the same sinusoidal embedding as the
// U-Net's); each of `layers` hidden layers sees the concatenation of the previous hidden
// state and the input (the skip connections), then LayerNorm + swish; the noise embedding is
// added to every hidden layer through its own linear map. Output: a zero-initialised linear
// layer to D.
#pragma once

#include "ddim/core/fields.h"
#include "ddim/nn/network.h"

namespace ddim {

struct MLPOptions {
  int64_t dim = 2;              ///< size of the data vectors
  int64_t width = 128;          ///< hidden width
  int64_t layers = 4;           ///< hidden layers
  int64_t embedding_dims = 32;  ///< noise embedding size
  double embedding_max_frequency = 1000.0;
  double dropout = 0.0;

  nlohmann::json to_json() const;
  static MLPOptions from_json(const nlohmann::json& j);
  /// The fields to_json writes and from_json reads (core/fields.h).
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field("dim", self.dim);
    field("width", self.width);
    field("layers", self.layers);
    field("embedding_dims", self.embedding_dims);
    field("embedding_max_frequency", self.embedding_max_frequency);
    field("dropout", self.dropout);
  }
  void validate() const;
};

class MLP : public EpsNetwork {
 public:
  explicit MLP(const MLPOptions& options);
  /// x: [B, dim].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise_variance,
                        const torch::Tensor& cond = {}) override;
  nlohmann::json describe() const override { return options_.to_json(); }

 private:
  MLPOptions options_;
  torch::nn::ModuleList layers_{nullptr}, time_proj_{nullptr}, norms_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

}  // namespace ddim
