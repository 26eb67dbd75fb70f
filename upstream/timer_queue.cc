#include "upstream/timer_queue.h"

#include "absl/time/clock.h"

namespace voxgate::upstream {

TimerQueue::TimerQueue() : thread_([this] { Run(); }) {}

TimerQueue::~TimerQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

TimerQueue::TimerId TimerQueue::Schedule(absl::Time when,
                                         std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  const TimerId id = next_id_++;
  timers_.emplace(std::make_pair(when, id), std::move(callback));
  when_.emplace(id, when);
  return id;
}

TimerQueue::TimerId TimerQueue::ScheduleAfter(absl::Duration delay,
                                              std::function<void()> callback) {
  return Schedule(absl::Now() + delay, std::move(callback));
}

bool TimerQueue::Cancel(TimerId id) {
  absl::MutexLock lock(&mu_);
  auto it = when_.find(id);
  if (it == when_.end()) return false;
  timers_.erase({it->second, id});
  when_.erase(it);
  return true;
}

void TimerQueue::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time next =
        timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first.first;
    if (next > absl::Now()) {
      // Wakes for a new earlier timer or shutdown: both change what we wait on.
      const std::size_t size = timers_.size();
      const absl::Time first = next;
      auto changed = [this, size, first]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || timers_.size() != size ||
               (!timers_.empty() && timers_.begin()->first.first < first);
      };
      mu_.AwaitWithDeadline(absl::Condition(&changed), next);
      continue;
    }
    auto it = timers_.begin();
    std::function<void()> callback = std::move(it->second);
    when_.erase(it->first.second);
    timers_.erase(it);
    mu_.Unlock();
    callback();
    mu_.Lock();
  }
}

}  // namespace voxgate::upstream
