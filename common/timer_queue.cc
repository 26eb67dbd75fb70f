#include "common/timer_queue.h"

namespace voxgate {

TimerQueue::TimerQueue(Clock& clock)
    : clock_(clock), thread_([this] { Run(); }) {}

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
  return Schedule(clock_.Now() + delay, std::move(callback));
}

void TimerQueue::Post(std::function<void()> callback) {
  // Ids grow, so posts at the same past instant run in the order posted.
  Schedule(absl::InfinitePast(), std::move(callback));
}

bool TimerQueue::Cancel(TimerId id) {
  std::function<void()> dropped;  // what it holds is let go outside mu_
  absl::MutexLock lock(&mu_);
  auto it = when_.find(id);
  if (it == when_.end()) return false;
  auto timer = timers_.find({it->second, id});
  dropped = std::move(timer->second);
  timers_.erase(timer);
  when_.erase(it);
  return true;
}

void TimerQueue::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time next =
        timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first.first;
    if (next > clock_.Now()) {
      // Wakes for a new earlier timer or shutdown only. A timer added after
      // the first, or cancelled, costs no wake-up: most are cancelled before
      // they are due (queue and admission timeouts), and a wake-up per
      // Schedule and Cancel made every waiting call cost CPU. A cancelled first
      // timer is noticed when it would have been due.
      const absl::Time first = next;
      auto changed = [this, first]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ ||
               (!timers_.empty() && timers_.begin()->first.first < first);
      };
      clock_.AwaitWithDeadline(mu_, absl::Condition(&changed), next);
      continue;
    }
    auto it = timers_.begin();
    std::function<void()> callback = std::move(it->second);
    when_.erase(it->first.second);
    timers_.erase(it);
    mu_.Unlock();
    callback();
    // What the callback held (a call's share, say) is let go outside mu_: its
    // destruction may take other locks, or cancel a timer of this queue.
    callback = nullptr;
    mu_.Lock();
  }
}

}  // namespace voxgate
