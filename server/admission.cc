#include "server/admission.h"

#include "absl/strings/str_cat.h"

namespace voxgate::server {
namespace {

absl::Status Draining() {
  return absl::UnavailableError(
      "voxgate is draining for shutdown; retry on another replica");
}

}  // namespace

void Admission::StartDraining() {
  std::list<Waiter> waiting;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    waiting.swap(waiting_);
    rejections_.draining += static_cast<int64_t>(waiting.size());
  }
  for (Waiter& waiter : waiting) {
    timers_.Cancel(waiter.timer);
    waiter.admitted(Draining());
  }
}

bool Admission::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

int Admission::active() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

Admission::Rejections Admission::rejections() const {
  absl::MutexLock lock(&mu_);
  return rejections_;
}

uint64_t Admission::Admit(Admitted admitted) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      refused = Draining();
      ++rejections_.draining;
    } else if (active_ < limits_.max_calls) {
      ++active_;
    } else if (static_cast<int>(waiting_.size()) >= limits_.max_waiting ||
               limits_.max_wait <= absl::ZeroDuration()) {
      ++rejections_.too_many_waiting;
      refused = absl::ResourceExhaustedError(absl::StrCat(
          "voxgate is at its limit of ", limits_.max_calls,
          " concurrent calls (limits.max_concurrent_calls) with ",
          waiting_.size(), " waiting (limits.max_waiting_calls); retry later"));
    } else {
      const uint64_t id = next_id_++;
      const TimerQueue::TimerId timer =
          timers_.ScheduleAfter(limits_.max_wait, [this, id] { Expire(id); });
      waiting_.push_back({id, std::move(admitted), timer});
      return id;
    }
  }
  if (!refused.ok()) {
    admitted(refused);
  } else {
    admitted(Ticket(this));
  }
  return 0;
}

void Admission::Release() {
  Admitted next;
  {
    absl::MutexLock lock(&mu_);
    if (waiting_.empty() || draining_) {
      --active_;
      return;
    }
    // The slot passes straight to the longest waiter.
    Waiter waiter = std::move(waiting_.front());
    waiting_.pop_front();
    timers_.Cancel(waiter.timer);
    next = std::move(waiter.admitted);
  }
  next(Ticket(this));
}

void Admission::Expire(uint64_t id) {
  Admitted admitted;
  {
    absl::MutexLock lock(&mu_);
    auto it =
        std::find_if(waiting_.begin(), waiting_.end(),
                     [id](const Waiter& waiter) { return waiter.id == id; });
    if (it == waiting_.end()) return;
    admitted = std::move(it->admitted);
    waiting_.erase(it);
    ++rejections_.wait_timeout;
  }
  admitted(absl::ResourceExhaustedError(absl::StrCat(
      "no call slot freed within ", absl::FormatDuration(limits_.max_wait),
      " (limits.admission_wait; limits.max_concurrent_calls is ",
      limits_.max_calls, "); retry later")));
}

void Admission::CancelWait(uint64_t id) {
  Admitted admitted;
  {
    absl::MutexLock lock(&mu_);
    auto it =
        std::find_if(waiting_.begin(), waiting_.end(),
                     [id](const Waiter& waiter) { return waiter.id == id; });
    if (it == waiting_.end()) return;
    timers_.Cancel(it->timer);
    admitted = std::move(it->admitted);
    waiting_.erase(it);
  }
  admitted(absl::CancelledError(
      "the caller cancelled while waiting for a call slot"));
}

}  // namespace voxgate::server
