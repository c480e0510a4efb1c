// What `ddim invert` and `ddim reconstruct` share: their options (the model, the inputs, the
// embedding method, the sampler, the class), what they load before embedding, and the
// description of an embedding that their JSON files carry.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "common/embed_args.h"
#include "common/inputs.h"
#include "common/sampling_args.h"
#include "ddim/methods/embedding.h"

namespace ddim::cli {

struct InvertArgs {
  std::string model, out;
  InputArgs inputs;
  SamplerArgs sampler;
  EmbedArgs embed;
  ClassArgs klass;
  int64_t show = 16;
  bool random_xt = false;  ///< reconstruct only
};

/// --model, --out, the input, embedding, sampler and class options, and --show.
void add_invert_options(CLI::App* sub, InvertArgs& a);

/// What every embedding command loads: the denoiser, the embedder if any, the images.
struct EmbedInputs {
  Denoiser denoiser;
  std::shared_ptr<Embedder> embedder;
  Inputs inputs;
  EmbedOptions options;
};

/// Loads the model, the embedding network when the method needs one, and the inputs, with the
/// embedding options resolved and checked against the model.
EmbedInputs load_embed_inputs(const InvertArgs& a);

/// The embedding's settings and timings, for invert.json and metrics.json.
nlohmann::ordered_json describe_embedding(const InvertArgs& a, const EmbedOptions& o, const Embedding& e);

}  // namespace ddim::cli
