#include "ddim/core/interrupt.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <string>

namespace ddim {
namespace {
// -1: no request; otherwise the signal (0 for a request without one).
std::atomic<int> g_request{-1};
thread_local int t_deferrals = 0;
static_assert(std::atomic<int>::is_always_lock_free, "request_interrupt must be async-signal-safe");

std::string describe(int signal) {
  if (signal == SIGINT) return "interrupted (SIGINT)";
  if (signal == SIGTERM) return "interrupted (SIGTERM)";
  return signal > 0 ? fmt::format("interrupted (signal {})", signal) : "interrupted";
}
}  // namespace

Interrupted::Interrupted(int signal) : Error(describe(signal)), signal_(signal) {}

void request_interrupt(int signal) noexcept {
  g_request.store(signal < 0 ? 0 : signal, std::memory_order_relaxed);
}

bool interrupt_requested() noexcept { return g_request.load(std::memory_order_relaxed) >= 0; }

int interrupt_signal() noexcept { return std::max(g_request.load(std::memory_order_relaxed), 0); }

void throw_if_interrupted() {
  const int s = g_request.load(std::memory_order_relaxed);
  if (s >= 0 && t_deferrals == 0) throw Interrupted(s);
}

InterruptDeferral::InterruptDeferral() noexcept { ++t_deferrals; }
InterruptDeferral::~InterruptDeferral() { --t_deferrals; }

void clear_interrupt() noexcept { g_request.store(-1, std::memory_order_relaxed); }

}  // namespace ddim
