// Denoisers with closed-form noise predictors, for tests against exact answers.
//
// Gaussian data x0 ~ N(mu, diag sigma^2) has the optimal predictor
//   eps*(x_t) = E[eps | x_t] = n (x_t - s mu) / (s^2 sigma^2 + n^2),
// under which the S-step DDIM map is affine and onto (every point has seeds); one-point data
// {x*} has eps*(x_t) = (x_t - s x*) / n, under which every seed generates x* exactly.
// Both see only n^2 (as ddim's networks do) and recover s = sqrt(1 - n^2).
#pragma once

#include <torch/torch.h>

#include "ddim/diffusion/denoiser.h"
#include "ddim/nn/network.h"

namespace ddim::test {

class GaussianOracle : public EpsNetwork {
 public:
  /// mu, sigma: one example's shape ([D] or [C, H, W]).
  GaussianOracle(torch::Tensor mu, torch::Tensor sigma) : mu_(std::move(mu)), sigma_(std::move(sigma)) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor&) override {
    std::vector<int64_t> shape(x.dim(), 1);
    shape[0] = x.size(0);
    auto n2 = v.view(shape), s = (1 - n2).sqrt();
    return n2.sqrt() * (x - s * mu_) / (s * s * sigma_ * sigma_ + n2);
  }
  nlohmann::json describe() const override { return {{"kind", "gaussian-oracle"}}; }

 private:
  torch::Tensor mu_, sigma_;
};

class OnePointOracle : public EpsNetwork {
 public:
  explicit OnePointOracle(torch::Tensor point) : point_(std::move(point)) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& v, const torch::Tensor&) override {
    std::vector<int64_t> shape(x.dim(), 1);
    shape[0] = x.size(0);
    auto n2 = v.view(shape), s = (1 - n2).sqrt();
    return (x - s * point_) / n2.sqrt().clamp_min(1e-12);
  }
  nlohmann::json describe() const override { return {{"kind", "one-point-oracle"}}; }

 private:
  torch::Tensor point_;
};

/// A denoiser around an oracle for examples of `shape`, with identity statistics (so data
/// units are the model's units; images are still clipped to [0, 1] on output).
inline Denoiser oracle_denoiser(std::shared_ptr<EpsNetwork> net, std::vector<int64_t> shape) {
  DataInfo info;
  info.shape = std::move(shape);
  return Denoiser(std::move(net), ScheduleOptions{}, Standardizer::identity(info.shape[0]), info);
}

}  // namespace ddim::test
