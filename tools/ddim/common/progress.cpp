#include "common/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace ddim::cli {
namespace {
ProgressObserver& observer() {
  static ProgressObserver o;
  return o;
}
}  // namespace

void set_progress_observer(ProgressObserver o) { observer() = std::move(o); }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled, int64_t start)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      meter_(total, start),
      tty_(::isatty(STDERR_FILENO) == 1),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      last_log_(start_) {}

Progress::~Progress() {
  if (enabled_ && !finished_ && tty_) std::fputc('\n', stderr);
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done, const std::string& status) {
  if (!enabled_) return;
  meter_.update(done, elapsed());
  status_ = status;
  if (observer()) observer()(label_, unit_, done, meter_.total(), status);
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ >= std::chrono::milliseconds(100) || done >= meter_.total()) {
      last_draw_ = now;
      draw(false);
    }
    return;
  }
  // Without a terminal: a line at every 10 % and at least every 30 s.
  const int64_t percent = meter_.percent();
  if (percent / 10 > last_logged_percent_ / 10 || now - last_log_ >= std::chrono::seconds(30)) {
    last_logged_percent_ = percent;
    last_log_ = now;
    draw(false);
  }
}

void Progress::finish(const std::string& status) {
  if (finished_ || !enabled_) return;
  if (!status.empty()) status_ = status;
  meter_.update(meter_.done(), elapsed());
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final) {
  const double secs = elapsed(), rate = meter_.rate();
  const int64_t percent = meter_.percent();
  const std::string rate_text = rate >= 1.0 || rate == 0.0 ? fmt::format("{:.1f} {}/s", rate, unit_)
                                                           : fmt::format("{:.2f} s/{}", 1.0 / rate, unit_);
  std::string tail = fmt::format("{}/{} {} {}", meter_.done(), meter_.total(), rate_text,
                                 status_.empty() ? "" : "| " + status_ + " ");
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(percent * kWidth / 100);
    std::string bar(filled, '#');
    bar.append(kWidth - filled, '-');
    std::fprintf(stderr, "\r\033[K%s [%s] %3ld%% %s| %s %s", label_.c_str(), bar.c_str(),
                 static_cast<long>(percent), tail.c_str(), final ? "took" : "ETA",
                 format_duration(final ? secs : meter_.eta()).c_str());
    if (final) std::fputc('\n', stderr);
    std::fflush(stderr);
  } else {
    spdlog::info("{}: {}% {}| {} {}", label_, percent, tail, final ? "took" : "ETA",
                 format_duration(final ? secs : meter_.eta()));
  }
}

}  // namespace ddim::cli
