#include "ddim/nn/mlp.h"

#include "ddim/core/error.h"

namespace ddim {

namespace nn = torch::nn;

nlohmann::json MLPOptions::to_json() const {
  auto j = fields_to_json(*this);
  j["kind"] = "mlp";  // what kind of network the description is
  return j;
}

MLPOptions MLPOptions::from_json(const nlohmann::json& j) { return fields_from_json<MLPOptions>(j); }

void MLPOptions::validate() const {
  DDIM_CHECK_ARG(dim > 0, "MLP data size must be positive, got {}", dim);
  DDIM_CHECK_ARG(width > 0, "MLP width must be positive, got {}", width);
  DDIM_CHECK_ARG(layers > 0, "MLP layer count must be positive, got {}", layers);
  DDIM_CHECK_ARG(embedding_dims > 0 && embedding_dims % 2 == 0,
                 "the noise embedding size must be positive and even, got {}", embedding_dims);
  DDIM_CHECK_ARG(dropout >= 0 && dropout < 1, "dropout must be in [0, 1), got {}", dropout);
}

MLP::MLP(const MLPOptions& o) : options_(o) {
  o.validate();
  layers_ = register_module("layers", nn::ModuleList());
  time_proj_ = register_module("time_proj", nn::ModuleList());
  norms_ = register_module("norms", nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    const int64_t in = (i == 0 ? 0 : o.width) + o.dim;
    layers_->push_back(nn::Linear(in, o.width));
    time_proj_->push_back(nn::Linear(o.embedding_dims, o.width));
    norms_->push_back(nn::LayerNorm(nn::LayerNormOptions({o.width})));
  }
  if (o.dropout > 0) dropout_ = register_module("dropout", nn::Dropout(o.dropout));
  head_ = register_module("head", nn::Linear(o.width, o.dim));
  nn::init::zeros_(head_->weight);
  nn::init::zeros_(head_->bias);
}

torch::Tensor MLP::forward(const torch::Tensor& x, const torch::Tensor& noise_variance,
                           const torch::Tensor&) {
  DDIM_CHECK_ARG(x.dim() == 2 && x.size(1) == options_.dim, "MLP input must be [B, {}], got {}", options_.dim,
                 fmt::join(x.sizes(), "x"));
  auto e = sinusoidal_embedding(noise_variance.reshape({-1}).to(x.scalar_type()), options_.embedding_dims,
                                options_.embedding_max_frequency);
  torch::Tensor h;
  for (int64_t i = 0; i < options_.layers; ++i) {
    auto in = h.defined() ? torch::cat({h, x}, 1) : x;  // skip connection from the input
    auto z = layers_[i]->as<nn::Linear>()->forward(in) + time_proj_[i]->as<nn::Linear>()->forward(e);
    z = swish(norms_[i]->as<nn::LayerNorm>()->forward(z));
    if (dropout_) z = dropout_->forward(z);
    h = h.defined() ? h + z : z;  // residual from the second layer on
  }
  return head_->forward(h);
}

}  // namespace ddim
