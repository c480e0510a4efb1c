// Interrupts: Ctrl-C and SIGTERM end long phases promptly and cleanly.
//
// The library installs no signal handler. A front end (the CLI) calls request_interrupt()
// from its SIGINT/SIGTERM handler; the long loops of the library (sampling and inversion per
// step, synthesis per iteration, data loading per file, previews) call throw_if_interrupted(),
// which throws ddim::Interrupted. Files are written atomically, so an interrupt leaves either a
// whole file or none. Training loops stop through their own callback instead (they save a
// checkpoint first, see training.h).
#pragma once

#include "ddim/core/error.h"

namespace ddim {

/// Thrown by throw_if_interrupted(); carries the signal (0 when requested without one).
class Interrupted : public Error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }

 private:
  int signal_;
};

/// Records an interrupt request. Async-signal-safe: call it from a signal handler.
void request_interrupt(int signal) noexcept;

/// Whether an interrupt was requested (a relaxed atomic load: cheap enough for inner loops).
bool interrupt_requested() noexcept;

/// The signal of the request (0: none, or none given).
int interrupt_signal() noexcept;

/// Throws ddim::Interrupted when an interrupt was requested.
void throw_if_interrupted();

/// Forgets the request (tests; a front end that handled it and goes on).
void clear_interrupt() noexcept;

/// While one lives on this thread, throw_if_interrupted() does not throw (the request stays):
/// for loops that stop by a protocol of their own, like run_training's stop callback, which
/// finishes the step, saves a checkpoint and lets data-parallel processes agree.
class InterruptDeferral {
 public:
  InterruptDeferral() noexcept;
  ~InterruptDeferral();
  InterruptDeferral(const InterruptDeferral&) = delete;
  InterruptDeferral& operator=(const InterruptDeferral&) = delete;
};

}  // namespace ddim
