#include "ddim/core/rate.h"

#include <algorithm>
#include <cmath>

namespace ddim {

RateMeter::RateMeter(int64_t total, int64_t already_done)
    : total_(std::max<int64_t>(total, 1)), start_(already_done), done_(already_done) {}

void RateMeter::update(int64_t done, double seconds) {
  done_ = done;
  seconds_ = seconds;
}

double RateMeter::rate() const {
  return seconds_ > 0 && done_ > start_ ? static_cast<double>(done_ - start_) / seconds_ : 0.0;
}

double RateMeter::eta() const {
  const double r = rate();
  return r > 0 ? static_cast<double>(std::max<int64_t>(0, total_ - done_)) / r : NAN;
}

int64_t RateMeter::percent() const { return std::clamp<int64_t>(done_ * 100 / total_, 0, 100); }

}  // namespace ddim
