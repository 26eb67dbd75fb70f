#ifndef VOXGATE_SERVER_ADMISSION_H_
#define VOXGATE_SERVER_ADMISSION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/timer_queue.h"

namespace voxgate::server {

// Decides whether a call may start: refuses while draining; beyond the
// concurrent- call limit, a call waits (bounded in number and time) for a slot.
// Thread-safe.
class Admission {
 public:
  // Holds one call's slot until destroyed, then hands it to the next waiter.
  class Ticket {
   public:
    explicit Ticket(Admission* admission) : admission_(admission) {}
    Ticket(Ticket&& other) noexcept
        : admission_(std::exchange(other.admission_, nullptr)) {}
    Ticket& operator=(Ticket&& other) noexcept {
      std::swap(admission_, other.admission_);
      return *this;
    }
    ~Ticket() {
      if (admission_ != nullptr) admission_->Release();
    }

   private:
    Admission* admission_;
  };

  struct Limits {
    int max_calls = 1 << 30;
    int max_waiting = 256;
    absl::Duration max_wait = absl::Seconds(1);
  };

  // `timers` runs the wait timeouts; it must outlive this object.
  Admission(Limits limits, TimerQueue& timers)
      : limits_(limits), timers_(timers) {}

  // From now on calls are refused with UNAVAILABLE, so callers retry elsewhere
  // while calls in flight finish; waiting calls are refused too.
  void StartDraining();
  bool draining() const;
  int active() const;

  // Calls refused so far, by reason.
  struct Rejections {
    int64_t draining = 0;
    int64_t too_many_waiting = 0;  // limits.max_waiting_calls
    int64_t wait_timeout = 0;      // limits.admission_wait
  };
  Rejections rejections() const;

  using Admitted = std::function<void(absl::StatusOr<Ticket>)>;
  // Runs `admitted` exactly once: with a ticket (at once, or when a slot
  // frees), UNAVAILABLE while draining, RESOURCE_EXHAUSTED when too many wait
  // or the wait times out, CANCELLED after CancelWait. May run on this thread,
  // a releasing call's thread or the timer thread. Returns an id for CancelWait
  // (0 if done).
  uint64_t Admit(Admitted admitted);
  void CancelWait(uint64_t id);

 private:
  struct Waiter {
    uint64_t id;
    Admitted admitted;
    TimerQueue::TimerId timer;
  };
  void Release();
  void Expire(uint64_t id);

  const Limits limits_;
  TimerQueue& timers_;
  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  Rejections rejections_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::list<Waiter> waiting_ ABSL_GUARDED_BY(mu_);
};

// Counts StreamTranscribe calls against limits.max_streams: a stream holds its
// slot for its whole life, which can be an hour, so streams have a cap of
// their own besides max_concurrent_calls. Thread-safe.
class StreamSlots {
 public:
  explicit StreamSlots(int max_streams) : max_streams_(max_streams) {}
  bool TryAcquire() {
    if (active_.fetch_add(1) < max_streams_) return true;
    active_.fetch_sub(1);
    refused_.fetch_add(1);
    return false;
  }
  void Release() { active_.fetch_sub(1); }
  int active() const { return active_.load(); }
  int64_t refused() const { return refused_.load(); }
  int max_streams() const { return max_streams_; }

 private:
  const int max_streams_;
  std::atomic<int> active_{0};
  std::atomic<int64_t> refused_{0};
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_ADMISSION_H_
