#include "common/embed_args.h"

#include "common/app.h"
#include "common/options.h"
#include "common/progress.h"
#include "ddim/training/embedder_trainer.h"

namespace ddim::cli {

EmbedOptions EmbedArgs::resolved(const SamplerArgs& s) const {
  EmbedOptions o = options;
  o.steps = s.steps;
  o.end = s.end;
  o.batch = s.batch;
  o.seed = global_options().seed;
  if (!embedder.empty() && o.method == EmbedMethod::DDIMInversion) o.method = EmbedMethod::Embedder;
  DDIM_CHECK_ARG(o.method != EmbedMethod::Embedder || !embedder.empty(),
                 "--method embedder needs --embedder FILE");
  DDIM_CHECK_ARG(embedder.empty() || o.method == EmbedMethod::Embedder,
                 "--embedder cannot be combined with --method {}", to_string(o.method));
  return o;
}

std::shared_ptr<Embedder> EmbedArgs::load_network(const Checkpoint& denoiser, const std::string& path,
                                                  const torch::Device& device) const {
  if (embedder.empty()) return nullptr;
  auto loaded = load_embedder(embedder, &denoiser, path, force);
  loaded.network->to(device);
  return loaded.network;
}

void add_embed_options(CLI::App* sub, EmbedArgs& a, bool refinement) {
  auto& o = a.options;
  add_enum_option(sub, "--method", o.method,
                  "ddim (plain DDIM inversion), fixed-point (Meiri et al. 2023), gradient-descent (seed "
                  "paper Sec. 5.1) or embedder (a trained network)");
  add_enum_option(sub, "--label", o.label,
                  "Plain inversion: time label of the eps call, target (the time it solves for) or current");
  sub->add_option("--iters", o.iterations, "Fixed-point iterations K per step")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--average", o.average, "Fixed point: average the iterates' eps (ReNoise)");
  sub->add_option("--embedder", a.embedder, "Embedder checkpoint (implies --method embedder)");
  sub->add_flag("--force", a.force, "Use an embedder trained against another denoiser");
  if (!refinement) return;
  sub->add_option("--descent-iters", o.descent_iterations, "Gradient-descent method: Adam iterations")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--refine", o.refine, "Refine the seeds with N gradient-descent iterations (paper Fig. 18)")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--refine-lr", o.lr, "Adam learning rate of gradient descent and refinement")
      ->check(kPositive)
      ->capture_default_str();
}

PhaseProgress::PhaseProgress() = default;

EmbedProgress PhaseProgress::callback() {
  return [this](const std::string& phase, int64_t done, int64_t total) {
    if (phase != phase_) {
      if (bar_) bar_->finish();
      bar_ = std::make_unique<Progress>(phase, total, phase == "refine" ? "it" : "img");
      bar_->began_at(last_report_);
      phase_ = phase;
    }
    bar_->update(done);
    if (done >= total) bar_->finish();  // now, not when the next phase or the command ends
    last_report_ = std::chrono::steady_clock::now();
  };
}

PhaseProgress::~PhaseProgress() {
  if (bar_) bar_->finish();
}

}  // namespace ddim::cli
