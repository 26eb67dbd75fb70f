#ifndef VOXGATE_COMMON_TIMER_QUEUE_H_
#define VOXGATE_COMMON_TIMER_QUEUE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace voxgate {

// Runs callbacks at given times of its clock on one thread of its own: queue
// and admission timeouts, retry backoff, health-check intervals, and
// completions that must not run on the thread that caused them (Post).
// Callbacks must return quickly. Thread-safe.
class TimerQueue {
 public:
  using TimerId = uint64_t;

  explicit TimerQueue(Clock& clock = RealClock());
  // Drops timers not yet run.
  ~TimerQueue();

  Clock& clock() const { return clock_; }
  absl::Time Now() const { return clock_.Now(); }

  TimerId Schedule(absl::Time when, std::function<void()> callback);
  TimerId ScheduleAfter(absl::Duration delay, std::function<void()> callback);
  // Runs `callback` on the timer thread as soon as it is free, after the
  // callbacks posted before it: how a cancel or a refusal reaches its caller
  // without running inside the caller's own stack (and locks).
  void Post(std::function<void()> callback);
  // True when the timer was still pending (it will not run).
  bool Cancel(TimerId id);

 private:
  void Run();

  Clock& clock_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::pair<absl::Time, TimerId>, std::function<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  std::map<TimerId, absl::Time> when_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_TIMER_QUEUE_H_
