#include "common/parallel.h"

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>

#include "ddim/core/interrupt.h"

namespace ddim::cli {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
void record_stop(int sig) {
  if (g_stop_signal != 0) {
    // A second signal: the first one is being honoured, this one ends the process now.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal = sig;
  ddim::request_interrupt(sig);
}
}  // namespace

std::function<bool()> install_stop_handler() {
  struct sigaction sa {};
  sa.sa_handler = record_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return [] { return g_stop_signal != 0; };
}

int stop_signal() { return g_stop_signal; }

void request_stop(int sig) noexcept {
  g_stop_signal = sig;
  ddim::request_interrupt(sig);
}

void reset_stop_request() noexcept { g_stop_signal = 0; }

Parallel init_parallel(int timeout_s, torch::Device& device) {
  Parallel p;
  const auto env = distributed_env();
  if (!env) return p;
  if (device.is_cuda()) device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env->local_rank));
  if (env->rank != 0) {
    // Rank 0 speaks for the job; the others report only warnings and errors.
    for (auto& sink : spdlog::default_logger()->sinks()) sink->set_level(spdlog::level::warn);
  }
  spdlog::info("rank {} of {} ({}): joining the process group at {}:{}", env->rank, env->world_size,
               env->launcher, env->master_addr, env->master_port);
  p.group = std::make_unique<ProcessGroup>(*env, std::chrono::seconds(timeout_s));
  return p;
}

std::function<bool()> stop_request(const Parallel& parallel) {
  auto local = install_stop_handler();
  if (!parallel.group) return local;
  auto* group = parallel.group.get();
  return [local, group] { return group->any(local()); };
}

}  // namespace ddim::cli
