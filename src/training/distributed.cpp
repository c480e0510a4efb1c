#include "ddim/training/distributed.h"

#ifdef DDIM_WITH_GLOO
// c10d's Gloo backend is compiled into LibTorch; its header needs this switch.
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include <cstdlib>

#include "ddim/core/error.h"

namespace ddim {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

int env_int(const char* name, int fallback) {
  const auto v = env(name);
  if (!v) return fallback;
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(*v, &used);
  } catch (...) {
    used = 0;
  }
  DDIM_CHECK_ARG(used == v->size(), "environment variable {}={} is not an integer", name, *v);
  return value;
}

// The first line of a c10d/Gloo error, which otherwise carries a C++ backtrace.
std::string first_line(const std::exception& e) {
  std::string s = e.what();
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) s = c->what_without_backtrace();
  return s.substr(0, s.find('\n'));
}

}  // namespace

#ifdef DDIM_WITH_GLOO
bool distributed_available() { return true; }
#else
bool distributed_available() { return false; }
#endif

std::optional<DistributedEnv> distributed_env() {
  DistributedEnv e;
  if (env("RANK") || env("WORLD_SIZE")) {
    DDIM_CHECK_ARG(env("RANK") && env("WORLD_SIZE"),
                   "set both RANK and WORLD_SIZE (torchrun sets them), or neither");
    e.launcher = "torchrun";
    e.rank = env_int("RANK", 0);
    e.world_size = env_int("WORLD_SIZE", 1);
    e.local_rank = env_int("LOCAL_RANK", e.rank);
    e.agent_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
    e.restart = env_int("TORCHELASTIC_RESTART_COUNT", 0);
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    e.launcher = "slurm";
    e.rank = env_int("SLURM_PROCID", 0);
    e.world_size = env_int("SLURM_NTASKS", 1);
    e.local_rank = env_int("SLURM_LOCALID", 0);
  } else {
    return std::nullopt;
  }
  DDIM_CHECK_ARG(e.world_size >= 1, "WORLD_SIZE must be at least 1, got {}", e.world_size);
  DDIM_CHECK_ARG(e.rank >= 0 && e.rank < e.world_size, "RANK {} is outside 0..{}", e.rank, e.world_size - 1);
  e.master_addr = env("MASTER_ADDR").value_or("127.0.0.1");
  e.master_port = env_int("MASTER_PORT", 29500);
  DDIM_CHECK_ARG(e.master_port > 0 && e.master_port < 65536, "MASTER_PORT {} is not a port", e.master_port);
  return e;
}

#ifdef DDIM_WITH_GLOO

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::chrono::seconds timeout{300};
  int64_t bucket_elements = 0;
  // Buckets of parameters, in the (reverse) order their gradients tend to arrive.
  struct Bucket {
    std::vector<torch::Tensor> params;
    std::vector<int64_t> offsets;
    torch::Tensor buffer;
    int64_t pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  torch::nn::Module* attached = nullptr;

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
      if (!work->wait(std::chrono::duration_cast<std::chrono::milliseconds>(timeout)))
        DDIM_FAIL("data-parallel {} did not finish in {} s", what, timeout.count());
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      DDIM_FAIL("data-parallel {} failed (another process stopped or timed out after {} s?): {}", what,
                timeout.count(), first_line(e));
    }
  }

  void launch(Bucket& b) {
    std::vector<torch::Tensor> t = {b.buffer};
    b.work = pg->allreduce(t);
  }
};

namespace {
c10::intrusive_ptr<c10d::ProcessGroupGloo> make_gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                     int world, std::chrono::seconds timeout,
                                                     const std::string& host) {
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
}
}  // namespace

ProcessGroup::ProcessGroup(const DistributedEnv& e, std::chrono::seconds timeout, int64_t bucket_elements)
    : impl_(std::make_unique<Impl>()), rank_(e.rank), world_(e.world_size) {
  impl_->timeout = timeout;
  impl_->bucket_elements = bucket_elements;
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(e.master_port);
    o.isServer = e.rank == 0 && !e.agent_store;
    o.numWorkers = static_cast<size_t>(e.world_size);
    o.waitWorkers = true;  // (clients only announce themselves; the server waits for all)
    o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    // Under a prefix of our own: torchrun's agent keeps its keys in the same store.
    impl_->store = c10::make_intrusive<c10d::PrefixStore>(
        fmt::format("ddim/{}", e.restart), c10::make_intrusive<c10d::TCPStore>(e.master_addr, o));
    // Gloo binds to the address that reaches the master (loopback for one machine).
    impl_->pg = make_gloo(
        impl_->store, e.rank, e.world_size, timeout,
        e.master_addr == "localhost" ? "127.0.0.1" : (e.world_size == 1 ? "127.0.0.1" : e.master_addr));
  } catch (const std::exception& ex) {
    DDIM_FAIL("rank {} of {}: could not join the process group at {}:{} within {} s: {}", e.rank,
              e.world_size, e.master_addr, e.master_port, timeout.count(), first_line(ex));
  }
}

ProcessGroup::ProcessGroup(c10::intrusive_ptr<c10d::Store> store, int rank, int world,
                           std::chrono::seconds timeout, int64_t bucket_elements)
    : impl_(std::make_unique<Impl>()), rank_(rank), world_(world) {
  impl_->timeout = timeout;
  impl_->bucket_elements = bucket_elements;
  impl_->store = std::move(store);
  impl_->pg = make_gloo(impl_->store, rank, world, timeout, "127.0.0.1");
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::attach(torch::nn::Module& module) {
  if (impl_->attached == &module) return;
  DDIM_CHECK(impl_->attached == nullptr, "a process group synchronises one module");
  impl_->attached = &module;
  auto params = module.parameters();
  // Backward visits the last layers first: fill buckets from the end.
  Impl::Bucket current;
  int64_t size = 0;
  auto close = [&] {
    if (current.params.empty()) return;
    current.buffer = torch::zeros({size}, current.params.front().options().requires_grad(false));
    impl_->buckets.push_back(std::move(current));
    current = Impl::Bucket();
    size = 0;
  };
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (!it->requires_grad()) continue;
    current.params.push_back(*it);
    current.offsets.push_back(size);
    size += it->numel();
    if (size >= impl_->bucket_elements) close();
  }
  close();
  for (size_t b = 0; b < impl_->buckets.size(); ++b) {
    auto& bucket = impl_->buckets[b];
    for (size_t i = 0; i < bucket.params.size(); ++i) {
      auto* impl = impl_.get();
      bucket.params[i].register_hook([impl, b, i](const torch::Tensor& grad) {
        // The gradient of one parameter is ready: put it in its bucket, and all-reduce the
        // bucket once it is full (while the backward pass goes on).
        auto& bk = impl->buckets[b];
        bk.buffer.narrow(0, bk.offsets[i], grad.numel()).copy_(grad.reshape({-1}));
        if (--bk.pending == 0) impl->launch(bk);
      });
    }
    bucket.pending = static_cast<int64_t>(bucket.params.size());
  }
}

void ProcessGroup::all_reduce(torch::nn::Module& module) {
  attach(module);  // (the first step: the hooks were not there yet, so fill buckets below)
  torch::NoGradGuard no_grad;
  for (auto& b : impl_->buckets) {
    if (!b.work) {
      // Gradients that never arrived (unused parameters, or the first step) are taken from .grad.
      for (size_t i = 0; i < b.params.size(); ++i) {
        auto slot = b.buffer.narrow(0, b.offsets[i], b.params[i].numel());
        const auto& g = b.params[i].grad();
        if (g.defined())
          slot.copy_(g.reshape({-1}));
        else
          slot.zero_();
      }
      impl_->launch(b);
    }
  }
  for (auto& b : impl_->buckets) {
    impl_->wait(b.work, "gradient all-reduce");
    b.buffer.div_(world_);
    for (size_t i = 0; i < b.params.size(); ++i) {
      auto& p = b.params[i];
      auto avg = b.buffer.narrow(0, b.offsets[i], p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(avg);
      else
        p.mutable_grad() = avg.clone();
    }
    b.work.reset();
    b.pending = static_cast<int64_t>(b.params.size());
  }
}

void ProcessGroup::average_buffers(torch::nn::Module& module) {
  std::vector<torch::Tensor> floats;
  for (auto& b : module.buffers())
    if (b.is_floating_point()) floats.push_back(b);
  if (floats.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat = {torch::cat([&] {
    std::vector<torch::Tensor> v;
    for (auto& b : floats) v.push_back(b.reshape({-1}));
    return v;
  }())};
  impl_->wait(impl_->pg->allreduce(flat), "buffer all-reduce");
  flat[0].div_(world_);
  int64_t offset = 0;
  for (auto& b : floats) {
    b.copy_(flat[0].narrow(0, offset, b.numel()).view(b.sizes()));
    offset += b.numel();
  }
}

void ProcessGroup::broadcast(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> all;
  for (auto& p : module.parameters()) all.push_back(p);
  for (auto& b : module.buffers()) all.push_back(b);
  for (auto& t : all) {
    std::vector<torch::Tensor> v = {t.is_contiguous() ? t : t.contiguous()};
    impl_->wait(impl_->pg->broadcast(v), "broadcast");
    if (!t.is_contiguous()) t.copy_(v[0]);
  }
}

double ProcessGroup::max_difference_to_rank0(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  double worst = 0;
  for (auto& p : module.parameters()) {
    std::vector<torch::Tensor> v = {p.detach().clone().contiguous()};
    impl_->wait(impl_->pg->broadcast(v), "broadcast");
    worst = std::max(worst, (v[0] - p).abs().max().item<double>());
  }
  return worst;
}

bool ProcessGroup::any(bool local) {
  std::vector<torch::Tensor> flag = {torch::full({1}, local ? 1.0f : 0.0f)};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MAX;
  impl_->wait(impl_->pg->allreduce(flag, o), "stop vote");
  return flag[0].item<float>() > 0;
}

void ProcessGroup::barrier() { impl_->wait(impl_->pg->barrier(), "barrier"); }

#else  // no gloo headers at build time

struct ProcessGroup::Impl {};

namespace {
[[noreturn]] void unavailable() {
  throw Unavailable(
      "this build of ddim has no data-parallel training (gloo's headers were missing when it was "
      "built; Debian: libgloo-dev)");
}
}  // namespace

ProcessGroup::ProcessGroup(const DistributedEnv&, std::chrono::seconds, int64_t) { unavailable(); }
ProcessGroup::ProcessGroup(c10::intrusive_ptr<c10d::Store>, int, int, std::chrono::seconds, int64_t) {
  unavailable();
}
ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::attach(torch::nn::Module&) { unavailable(); }
void ProcessGroup::all_reduce(torch::nn::Module&) { unavailable(); }
void ProcessGroup::average_buffers(torch::nn::Module&) { unavailable(); }
void ProcessGroup::broadcast(torch::nn::Module&) { unavailable(); }
bool ProcessGroup::any(bool) { unavailable(); }
double ProcessGroup::max_difference_to_rank0(torch::nn::Module&) { unavailable(); }
void ProcessGroup::barrier() { unavailable(); }

#endif
}  // namespace ddim
