#ifndef VOXGATE_COMMON_MANUAL_CLOCK_H_
#define VOXGATE_COMMON_MANUAL_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"

namespace voxgate {

// A clock that moves only when a test advances it. Threads waiting on it (a
// TimerQueue's) notice an advance within a millisecond of real time: they
// re-check their deadline that often, which keeps the clock free of any
// knowledge of the waiters' mutexes. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000))
      : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration duration) {
    absl::MutexLock lock(&mu_);
    now_ += duration;
  }
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& condition,
                         absl::Time deadline) override {
    while (!condition.Eval()) {
      if (Now() >= deadline) return false;
      mu.AwaitWithTimeout(condition, absl::Milliseconds(1));
    }
    return true;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_MANUAL_CLOCK_H_
