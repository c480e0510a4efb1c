// The options of the commands that embed images into seeds (invert, reconstruct,
// interpolate, encode, manipulate): the method and its settings, bound to the library's
// EmbedOptions (ddim/methods/embedding.h), and the embedding network when one is used.
#pragma once

#include <chrono>
#include <memory>

#include "common/sampling_args.h"
#include "ddim/methods/embedding.h"
#include "ddim/nn/embedder.h"

namespace ddim::cli {

struct EmbedArgs {
  EmbedOptions options;
  std::string embedder;  ///< checkpoint of an embedding network
  bool force = false;    ///< pair it with another denoiser than its own

  /// The options with the sampler's S, grid end and batch and the global seed; --embedder
  /// alone implies the embedder method.
  EmbedOptions resolved(const SamplerArgs& sampler) const;
  /// The embedding network when the method needs one: loaded, checked against the denoiser
  /// checkpoint `denoiser` (read from `path`), on `device`.
  std::shared_ptr<Embedder> load_network(const Checkpoint& denoiser, const std::string& path,
                                         const torch::Device& device) const;
};

/// --method, --label, --iters, --average, --embedder, --force and, with `refinement`,
/// --descent-iters, --refine, --refine-lr.
void add_embed_options(CLI::App* sub, EmbedArgs& a, bool refinement = true);

/// One progress bar per phase of embed_images / reconstruct_images.
class PhaseProgress {
 public:
  PhaseProgress();
  ~PhaseProgress();
  EmbedProgress callback();

 private:
  std::unique_ptr<class Progress> bar_;
  std::string phase_;
  // A phase reports first when its first batch is done: it began at the previous report (or
  // at construction), which its bar's rate and time must count.
  std::chrono::steady_clock::time_point last_report_ = std::chrono::steady_clock::now();
};

}  // namespace ddim::cli
