// The rate and the remaining time of long work (training steps, images, iterations) that may
// start part-way: a resumed run begins at its checkpoint's step, and the steps done before
// the resume must count towards the position but not towards the rate.
#pragma once

#include <cstdint>

namespace ddim {

class RateMeter {
 public:
  /// `total` units of work, `already_done` of them before this process started.
  RateMeter(int64_t total, int64_t already_done = 0);
  /// `done` units are finished (already_done included), `seconds` after this process started.
  void update(int64_t done, double seconds);
  int64_t done() const { return done_; }
  int64_t total() const { return total_; }
  /// Units per second over the work done by this process (0 before any).
  double rate() const;
  /// Seconds to the end at that rate (NaN while the rate is unknown).
  double eta() const;
  /// Percent of the total done, 0..100.
  int64_t percent() const;

 private:
  int64_t total_, start_, done_;
  double seconds_ = 0;
};

}  // namespace ddim
