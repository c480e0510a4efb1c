#include "ddim/training/ema.h"

#include "ddim/core/error.h"

namespace ddim {
namespace {
template <typename F>
void zip_tensors(torch::nn::Module& a, const torch::nn::Module& b, F&& f) {
  auto pa = a.parameters(), pb = b.parameters();
  DDIM_CHECK_ARG(pa.size() == pb.size(), "EMA: the networks differ in their parameters ({} and {})",
                 pa.size(), pb.size());
  auto same_shape = [](const torch::Tensor& x, const torch::Tensor& y) {
    DDIM_CHECK_ARG(x.sizes() == y.sizes(), "EMA: the networks differ in a tensor's shape ({} and {})",
                   fmt::join(x.sizes(), "x"), fmt::join(y.sizes(), "x"));
  };
  for (size_t i = 0; i < pa.size(); ++i) {
    same_shape(pa[i], pb[i]);
    f(pa[i], pb[i]);
  }
  auto ba = a.buffers(), bb = b.buffers();
  DDIM_CHECK_ARG(ba.size() == bb.size(), "EMA: the networks differ in their buffers ({} and {})", ba.size(),
                 bb.size());
  for (size_t i = 0; i < ba.size(); ++i) {
    same_shape(ba[i], bb[i]);
    f(ba[i], bb[i]);
  }
}
}  // namespace

void ema_update(torch::nn::Module& ema, const torch::nn::Module& model, double decay) {
  torch::NoGradGuard no_grad;
  zip_tensors(ema, model, [&](torch::Tensor& e, const torch::Tensor& m) {
    if (e.is_floating_point())
      e.mul_(decay).add_(m.detach(), 1.0 - decay);
    else
      e.copy_(m);
  });
}

double ema_decay_at(double decay, bool warmup, int64_t step) {
  if (!warmup) return decay;
  return std::min(decay, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
}

void copy_weights(torch::nn::Module& target, const torch::nn::Module& source) {
  torch::NoGradGuard no_grad;
  zip_tensors(target, source, [](torch::Tensor& t, const torch::Tensor& s) { t.copy_(s.detach()); });
}

}  // namespace ddim
