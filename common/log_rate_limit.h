#ifndef VOXGATE_COMMON_LOG_RATE_LIMIT_H_
#define VOXGATE_COMMON_LOG_RATE_LIMIT_H_

// At most N log lines per second from a source a caller can make talk (FFmpeg
// warns once per damaged frame: one crafted file, thousands of lines). The
// lines over the rate are dropped and counted; the next line let through
// says how many. Thread-safe.

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"

namespace voxgate {

class LogRateLimit {
 public:
  LogRateLimit(int per_second, const Clock& clock)
      : per_second_(per_second), clock_(clock) {}

  // Whether this line may be logged; when it may, `dropped_before` is the
  // count of lines dropped since the last one let through.
  bool Allow(int64_t& dropped_before) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    if (now - window_start_ >= absl::Seconds(1)) {
      window_start_ = now;
      in_window_ = 0;
    }
    if (in_window_ >= per_second_) {
      ++dropped_;
      return false;
    }
    ++in_window_;
    dropped_before = dropped_;
    dropped_ = 0;
    return true;
  }

 private:
  const int per_second_;
  const Clock& clock_;
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int in_window_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_LOG_RATE_LIMIT_H_
