#include "ddim/methods/trained_embedder.h"

#include "ddim/core/error.h"
#include "ddim/diffusion/denoiser.h"
#include "io/allocation_budget.h"

namespace ddim {

DenoiserRef DenoiserRef::of(const Checkpoint& ck, const std::string& path) {
  return {path, denoiser_fingerprint(ck), ck.meta.value("step", int64_t{0})};
}

LoadedEmbedder load_embedder(const std::string& path, const Checkpoint* denoiser,
                             const std::string& denoiser_path, bool force) {
  return embedder_from_checkpoint(load_checkpoint(path, "embedder"), path, denoiser, denoiser_path, force);
}

LoadedEmbedder embedder_from_checkpoint(const Checkpoint& ck, const std::string& path,
                                        const Checkpoint* denoiser, const std::string& denoiser_path,
                                        bool force) {
  DDIM_CHECK(ck.kind() == "embedder", "{}: is a ddim {} checkpoint, but an embedder is needed here", path,
             ck.kind().empty() ? "unknown" : ck.kind());
  LoadedEmbedder e;
  const auto& state = checkpoint_state(ck, "model", path);
  {
    detail::AllocationBudget budget(detail::network_budget(state));
    e.network = meta_parse(ck.meta, "arch", path, [](const nlohmann::json& j) {
      return std::make_shared<Embedder>(EmbedderOptions::from_json(j));
    });
  }
  e.denoiser = meta_parse(ck.meta, "denoiser", path, [](const nlohmann::json& r) {
    return DenoiserRef{r.value("path", std::string()), r.value("fingerprint", std::string()),
                       r.value("step", int64_t{0})};
  });
  e.steps = meta_parse(ck.meta, "train", path,
                       [](const nlohmann::json& t) { return t.value("steps", int64_t{10}); });
  DDIM_CHECK_ARG(e.steps > 0 && e.steps <= 100000,
                 "{}: checkpoint metadata: key 'train.steps': {} is not a step count", path, e.steps);
  load_module_state(*e.network, state, path);
  e.network->eval();
  for (auto& p : e.network->parameters()) p.set_requires_grad(false);
  if (denoiser && !force) {
    const auto fp = denoiser_fingerprint(*denoiser);
    DDIM_CHECK_ARG(
        fp == e.denoiser.fingerprint,
        "{} was trained against the denoiser {} (step {}, fingerprint {}), not {} (fingerprint {}); force "
        "the pairing to use it anyway",
        path, e.denoiser.path, e.denoiser.step, e.denoiser.fingerprint, denoiser_path, fp);
  }
  return e;
}

}  // namespace ddim
