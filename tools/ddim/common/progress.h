// A progress bar with rate and ETA on a terminal; periodic plain log lines otherwise (so
// that logs of batch jobs stay readable).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "ddim/core/rate.h"

namespace ddim::cli {

class Progress {
 public:
  /// `label` names the work, `total` counts its units (steps, images), `unit` names one;
  /// `start` units were done before (a resumed run): they count towards the position, not
  /// the rate. A disabled bar shows nothing (data-parallel processes other than rank 0).
  Progress(std::string label, int64_t total, std::string unit = "it", bool enabled = true, int64_t start = 0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Reports that `done` units are finished; `status` is shown after the rate (e.g. the loss).
  void update(int64_t done, const std::string& status = {});
  /// Ends the bar (prints the final state once).
  void finish(const std::string& status = {});
  /// Seconds since construction, or since began_at's time.
  double elapsed() const;
  /// The work began at `t`, before this bar was made (its first report already finished some).
  void began_at(std::chrono::steady_clock::time_point t) { start_ = t; }

 private:
  void draw(bool final);
  std::string label_, unit_, status_;
  RateMeter meter_;
  bool tty_, enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_, last_log_;
  int64_t last_logged_percent_ = -1;
};

/// Called on every Progress::update with the bar's label, unit ("step" for training runs),
/// units done and total, and status: a host that runs commands in its own process (Python's
/// on_step) follows the work through it. Empty: none (the default).
using ProgressObserver = std::function<void(const std::string& label, const std::string& unit, int64_t done,
                                            int64_t total, const std::string& status)>;
void set_progress_observer(ProgressObserver observer);

/// "1:02:03" or "2:03" for a number of seconds.
std::string format_duration(double seconds);

/// Seconds since `start`.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace ddim::cli
