#include "ddim/methods/embedding.h"

#include <chrono>

#include "ddim/core/error.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/rng.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/diffusion/synthesis.h"

namespace ddim {
namespace {

using Clock = std::chrono::steady_clock;

// Random streams of embedding (rng.h: mix_seed(seed, stream)).
constexpr uint64_t kDescentStream = 0xe3b, kEmbedRandomXtStream = 0x7a4d;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Times work that reports progress in [done] units: the time between two reports is shared
// out evenly over the units finished in it, into `seconds` [N].
class BatchTimer {
 public:
  BatchTimer(torch::Tensor& seconds, std::string phase, int64_t total, const EmbedProgress& progress)
      : seconds_(seconds),
        phase_(std::move(phase)),
        total_(total),
        progress_(progress),
        last_(Clock::now()) {}
  void operator()(int64_t done) {
    const double s = seconds_since(last_);
    last_ = Clock::now();
    if (done > done_) seconds_.slice(0, done_, done).add_(s / static_cast<double>(done - done_));
    done_ = done;
    if (progress_) progress_(phase_, done, total_);
  }

 private:
  torch::Tensor& seconds_;
  std::string phase_;
  int64_t total_, done_ = 0;
  const EmbedProgress& progress_;
  Clock::time_point last_;
};

SynthesisOptions descent_options(const EmbedOptions& o, int64_t iterations) {
  SynthesisOptions s;
  s.steps = o.steps;
  s.end = o.end;
  s.iterations = iterations;
  s.lr = o.lr;
  s.loss = o.loss;
  s.seed_penalty = o.seed_penalty;
  s.checkpointing = o.checkpointing;
  s.batch = o.batch;
  s.condition = o.condition;
  return s;
}

// Gradient descent from `init` ([N, *shape]) or, undefined, from N(0, I); one seed per image.
torch::Tensor descend(const Denoiser& d, const torch::Tensor& images, const torch::Tensor& init,
                      const EmbedOptions& o, int64_t iterations, const std::string& phase,
                      torch::Tensor* seconds, const EmbedProgress& progress) {
  auto gen = make_generator(mix_seed(o.seed, kDescentStream));
  const int64_t n = images.size(0), groups = (n + o.batch - 1) / o.batch;
  auto last = Clock::now();
  int64_t group = -1, previous_begin = -1;
  const auto result = synthesize_seeds(
      d, images, 1, init.defined() ? init.unsqueeze(1) : init, descent_options(o, iterations), gen,
      [&](int64_t it, const torch::Tensor&, int64_t begin, int64_t end) {
        if (begin != previous_begin) ++group, previous_begin = begin;
        if (seconds)
          seconds->slice(0, begin, end).add_(seconds_since(last) / static_cast<double>(end - begin));
        last = Clock::now();
        if (progress) progress(phase, group * iterations + it, groups * iterations);
      });
  return result.seeds.squeeze(1);
}

}  // namespace

template <>
const NameTable<EmbedMethod>& name_table<EmbedMethod>() {
  static const NameTable<EmbedMethod> table{"embedding method",
                                            {{EmbedMethod::DDIMInversion, "ddim"},
                                             {EmbedMethod::FixedPoint, "fixed-point"},
                                             {EmbedMethod::GradientDescent, "gradient-descent"},
                                             {EmbedMethod::Embedder, "embedder"}}};
  return table;
}

void EmbedOptions::validate() const {
  DDIM_CHECK_ARG(steps > 0, "the number of DDIM steps must be positive, got {}", steps);
  DDIM_CHECK_ARG(iterations > 0, "fixed-point inversion needs at least one iteration, got {}", iterations);
  DDIM_CHECK_ARG(descent_iterations > 0, "gradient descent needs at least one iteration, got {}",
                 descent_iterations);
  DDIM_CHECK_ARG(refine >= 0, "refinement iterations must not be negative, got {}", refine);
  DDIM_CHECK_ARG(lr > 0, "the learning rate must be positive, got {}", lr);
  DDIM_CHECK_ARG(seed_penalty >= 0, "the seed penalty must not be negative, got {}", seed_penalty);
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
}

void EmbedOptions::validate(const Denoiser& d) const {
  validate();
  DDIM_CHECK_ARG(!condition.vectors.defined() || d.network().conditioning() == Conditioning::Class,
                 "class conditions need a class-conditional model");
  d.eps_fn({}, condition.guidance);  // checks the guidance
  DDIM_CHECK_ARG(
      d.network().conditioning() != Conditioning::Semantic ||
          ((method == EmbedMethod::DDIMInversion || method == EmbedMethod::FixedPoint) && refine == 0),
      "a diffusion autoencoder embeds by its semantic encoder and inversion conditioned on the code "
      "(ddim or fixed-point), not by {}{}",
      to_string(method), refine > 0 ? " with refinement" : "");
}

InvertOptions EmbedOptions::invert_options() const {
  InvertOptions o;
  o.method = method == EmbedMethod::FixedPoint ? InversionMethod::FixedPoint : InversionMethod::DDIM;
  o.label = label;
  o.iterations = iterations;
  o.average = average;
  return o;
}

std::string EmbedOptions::describe() const {
  std::string s;
  switch (method) {
    case EmbedMethod::DDIMInversion:
      s = fmt::format("DDIM inversion (eps labelled with the {} time)", to_string(label));
      break;
    case EmbedMethod::FixedPoint:
      s = fmt::format("fixed-point inversion (K = {}{})", iterations, average ? ", averaged" : "");
      break;
    case EmbedMethod::GradientDescent:
      s = fmt::format("gradient descent ({} iterations)", descent_iterations);
      break;
    case EmbedMethod::Embedder:
      s = "embedding network";
      break;
  }
  if (refine > 0) s += fmt::format(" + {} gradient steps", refine);
  return s;
}

torch::Tensor semantic_codes(const Denoiser& d, const torch::Tensor& images, int64_t batch,
                             const ProgressFn& progress) {
  if (d.network().conditioning() != Conditioning::Semantic) return {};
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); i += batch) {
    const int64_t end = std::min(images.size(0), i + batch);
    throw_if_interrupted();
    auto x = d.standardize(images.slice(0, i, end).to(d.device()));
    out.push_back(d.network().condition(x).to(torch::kCPU));
    if (progress) progress(end);
  }
  DDIM_CHECK_ARG(!out.empty(), "no images to encode");
  return torch::cat(out);
}

torch::Tensor semantic_codes(const Denoiser& d, const Dataset& data, int64_t batch,
                             const ProgressFn& progress) {
  if (d.network().conditioning() != Conditioning::Semantic) return {};
  DDIM_CHECK_ARG(batch > 0, "the batch size must be positive, got {}", batch);
  DDIM_CHECK_ARG(data.size() > 0, "{}: no images to encode", data.spec);
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < data.size(); i += batch) {
    const int64_t end = std::min(data.size(), i + batch);
    out.push_back(semantic_codes(d, data.slice(i, end), batch));
    if (progress) progress(end);
  }
  return torch::cat(out);
}

Embedding embed_images(const Denoiser& d, const torch::Tensor& images, const EmbedOptions& o,
                       Embedder* embedder, const EmbedProgress& progress) {
  o.validate(d);
  const auto& info = d.data();
  DDIM_CHECK_ARG(images.dim() == static_cast<int64_t>(info.shape.size()) + 1 &&
                     images.sizes().slice(1).vec() == info.shape && images.size(0) > 0,
                 "images of shape {} do not fit the model, whose examples are {}",
                 fmt::join(images.sizes(), "x"), fmt::join(info.shape, "x"));
  const bool autoencoder = d.network().conditioning() == Conditioning::Semantic;
  DDIM_CHECK_ARG(o.method != EmbedMethod::Embedder || embedder != nullptr,
                 "the embedder method needs an embedding network");
  const int64_t n = images.size(0);
  Embedding e;
  e.seconds = torch::zeros({n}, torch::kFloat64);
  const auto start = Clock::now();
  BatchTimer timer(e.seconds, "embed", n, progress);
  if (autoencoder) {
    // z_sem from the encoder, then x_T by inversion conditioned on it.
    e.codes = semantic_codes(d, images, o.batch);
    e.seeds = invert(d, images, o.grid(d.schedule()), o.invert_options(), o.batch, std::ref(timer), e.codes);
  } else if (o.method == EmbedMethod::Embedder) {
    torch::NoGradGuard no_grad;
    embedder->to(d.device());
    embedder->eval();
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < n; i += o.batch) {
      const int64_t end = std::min(n, i + o.batch);
      throw_if_interrupted();
      out.push_back(embedder->forward(images.slice(0, i, end).to(d.device())).to(torch::kCPU));
      timer(end);
    }
    e.seeds = torch::cat(out);
  } else if (o.method == EmbedMethod::GradientDescent) {
    e.seeds = descend(d, images, {}, o, o.descent_iterations, "embed", &e.seconds, progress);
  } else {
    e.seeds =
        invert(d, images, o.grid(d.schedule()), o.invert_options(), o.batch, std::ref(timer), o.condition);
  }
  e.embed_seconds = seconds_since(start);
  if (o.refine > 0) {
    const auto refine_start = Clock::now();
    e.unrefined = e.seeds;
    e.seeds = descend(d, images, e.unrefined, o, o.refine, "refine", &e.seconds, progress);
    e.refine_seconds = seconds_since(refine_start);
  }
  return e;
}

torch::Tensor refine_seeds(const Denoiser& d, const torch::Tensor& images, const torch::Tensor& seeds,
                           const EmbedOptions& o, const EmbedProgress& progress) {
  o.validate();
  DDIM_CHECK_ARG(o.refine > 0, "refinement needs at least one iteration, got {}", o.refine);
  DDIM_CHECK_ARG(seeds.size(0) == images.size(0), "{} seeds for {} images", seeds.size(0), images.size(0));
  return descend(d, images, seeds, o, o.refine, "refine", nullptr, progress);
}

Reconstruction reconstruct_images(const Denoiser& d, const torch::Tensor& images, const EmbedOptions& o,
                                  Embedder* embedder, bool random_xt, const EmbedProgress& progress) {
  Reconstruction r;
  r.embedding = embed_images(d, images, o, embedder, progress);
  DDIM_CHECK_ARG(!random_xt || r.embedding.codes.defined(),
                 "random x_T is for diffusion autoencoders (it keeps only the semantic code)");
  r.decoded = r.embedding.seeds;
  if (random_xt) {
    auto gen = make_generator(mix_seed(o.seed, kEmbedRandomXtStream));
    r.decoded = randn(r.decoded.sizes(), gen);
  }
  // Deterministic and unclipped: the inverse of what inversion did.
  const auto grid = o.grid(d.schedule());
  const auto& info = d.data();
  const Condition condition = r.embedding.codes.defined() ? Condition(r.embedding.codes) : o.condition;
  auto decode = [&](const torch::Tensor& seeds) {
    return info.crop(generate(d, seeds, grid, SampleOptions{}, o.batch, {}, condition));
  };
  const auto originals = info.crop(images);
  r.outputs = decode(r.decoded);
  r.report = ReconstructionReport::compute(originals, r.outputs);
  if (r.embedding.unrefined.defined())
    r.before_refinement = ReconstructionReport::compute(originals, decode(r.embedding.unrefined));
  return r;
}

}  // namespace ddim
