// ProgressLine: "what done/total (percent) rate ETA" for long loops. On a terminal it redraws
// one line on stderr; otherwise (logs, CI) it prints a plain line every tenth of the way or
// every 30 seconds, whichever comes first.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fovea::examples {

class ProgressLine {
 public:
  ProgressLine(std::string what, int64_t total, std::string unit = "images")
      : what_(std::move(what)),
        unit_(std::move(unit)),
        total_(total),
        terminal_(isatty(STDERR_FILENO) != 0),
        start_(Clock::now()),
        last_print_(start_) {}

  void update(int64_t done) {
    const auto now = Clock::now();
    const bool tenth = total_ > 0 && done * 10 / total_ != printed_ * 10 / total_;
    const bool due = terminal_ ? now - last_print_ > std::chrono::milliseconds(200)
                               : tenth || now - last_print_ > std::chrono::seconds(30);
    if (!due && done != total_) return;
    last_print_ = now;
    printed_ = done;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    std::fprintf(stderr, "%s%s %lld/%lld (%3.0f %%) %.1f %s/s ETA %.0f s%s", terminal_ ? "\r" : "",
                 what_.c_str(), static_cast<long long>(done), static_cast<long long>(total_),
                 total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 0.0,
                 rate, unit_.c_str(), eta, terminal_ ? "\033[K" : "\n");
    if (terminal_ && done == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_, unit_;
  int64_t total_, printed_ = 0;
  bool terminal_;
  Clock::time_point start_, last_print_;
};

}  // namespace fovea::examples
