#include "ddim/methods/model.h"

#include "ddim/core/error.h"

namespace ddim {

template <>
const NameTable<ModelKind>& name_table<ModelKind>() {
  static const NameTable<ModelKind> table{"model kind",
                                          {{ModelKind::Denoiser, "denoiser"},
                                           {ModelKind::ClassConditional, "class-conditional"},
                                           {ModelKind::Autoencoder, "diffae"},
                                           {ModelKind::Gae, "gae"},
                                           {ModelKind::Embedder, "embedder"},
                                           {ModelKind::Classifier, "classifier"}}};
  return table;
}

ModelKind denoiser_kind(const Denoiser& denoiser) {
  switch (denoiser.network().conditioning()) {
    case Conditioning::Class:
      return ModelKind::ClassConditional;
    case Conditioning::Semantic:
      return ModelKind::Autoencoder;
    default:
      return ModelKind::Denoiser;
  }
}

const Denoiser& Model::require_denoiser() const {
  DDIM_CHECK(denoiser.has_value(), "{}: is a ddim {} checkpoint, but a denoiser is needed here", path,
             to_string(kind));
  return *denoiser;
}

Model model_from_checkpoint(const Checkpoint& ck, const std::string& what, const LoadOptions& o) {
  Model m;
  m.path = what;
  m.checkpoint = ck;
  const auto kind = ck.kind();
  if (kind == "denoiser") {
    m.denoiser = denoiser_from_checkpoint(ck, what, o.weights);
    m.kind = denoiser_kind(*m.denoiser);
  } else if (kind == "gae") {
    // A DiffuseGAE decodes through its GAE: its semantic code is z_sem-hat (methods/gae.h).
    m.gae = gae_from_checkpoint(ck, what, o.weights);
    m.denoiser = m.gae->denoiser;
    m.kind = ModelKind::Gae;
  } else if (kind == "embedder") {
    m.embedder = embedder_from_checkpoint(ck, what);
    m.embedder->network->to(o.device);
    m.kind = ModelKind::Embedder;
  } else if (kind == "classifier") {
    m.classifier = classifier_from_checkpoint(ck, what);
    m.classifier->network->to(o.device);
    m.kind = ModelKind::Classifier;
  } else {
    DDIM_FAIL("{}: is a ddim checkpoint of unknown kind '{}' (known: denoiser, gae, embedder, classifier)",
              what, kind);
  }
  if (m.denoiser) {
    m.denoiser->to(o.device);
    m.denoiser->set_mixed_precision(o.bf16);
  }
  return m;
}

Model load_model(const std::string& path, const LoadOptions& o) {
  return model_from_checkpoint(load_checkpoint(path), path, o);
}

}  // namespace ddim
