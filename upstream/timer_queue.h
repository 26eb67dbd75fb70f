#ifndef VOXGATE_UPSTREAM_TIMER_QUEUE_H_
#define VOXGATE_UPSTREAM_TIMER_QUEUE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace voxgate::upstream {

// Runs callbacks at given times on one thread of its own: queue timeouts, retry
// backoff, health-check intervals. Callbacks must return quickly. Thread-safe.
class TimerQueue {
 public:
  using TimerId = uint64_t;

  TimerQueue();
  // Drops timers not yet run.
  ~TimerQueue();

  TimerId Schedule(absl::Time when, std::function<void()> callback);
  TimerId ScheduleAfter(absl::Duration delay, std::function<void()> callback);
  // True when the timer was still pending (it will not run).
  bool Cancel(TimerId id);

 private:
  void Run();

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::pair<absl::Time, TimerId>, std::function<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  std::map<TimerId, absl::Time> when_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_TIMER_QUEUE_H_
