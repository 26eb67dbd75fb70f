#ifndef VOXGATE_SERVER_ADMISSION_H_
#define VOXGATE_SERVER_ADMISSION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/timer_queue.h"
#include "common/waiter_queue.h"

namespace voxgate::server {

// The classes of method that limits are set by (the seed servers' endpoint
// classes).
enum class MethodClass { kGeneral, kTranscription, kUnderstanding, kBatch };

// The caller's request metadata (gRPC metadata, HTTP headers), for checks that
// need it (API keys in a later step). Keys are lower case.
class CallerMetadata {
 public:
  virtual ~CallerMetadata() = default;
  // The first value of `key`, or nullopt.
  virtual std::optional<absl::string_view> Find(
      absl::string_view key) const = 0;
};

// What admission knows of a call before it starts. Borrowed views: valid for
// the duration of Admit() only.
struct AdmissionRequest {
  absl::string_view method;  // "Chat"
  MethodClass method_class = MethodClass::kGeneral;
  // Holds a limits.max_streams slot for its whole life (StreamTranscribe).
  bool long_lived_stream = false;
  absl::string_view peer;  // "ipv4:127.0.0.1:5555"
  const CallerMetadata* metadata = nullptr;
  // Size of the request message, when the call starts with one; 0 otherwise.
  int64_t request_bytes = 0;
};

// One step of admission beyond the built-in limits: authentication, method
// and model permissions, rate limits and quotas plug in here. Runs on the
// thread that starts the call and must not block.
class AdmissionCheck {
 public:
  virtual ~AdmissionCheck() = default;
  // OK to let the call go on, or the status that refuses it
  // (UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED...).
  virtual absl::Status Check(const AdmissionRequest& request) = 0;
  // Names the reason in voxgate_admission_rejections_total.
  virtual absl::string_view name() const = 0;
};

// The one admission step of every RPC, gRPC and (later) HTTP alike: refuses
// while draining, runs the configured checks, counts long-lived streams against
// limits.max_streams and calls against limits.max_concurrent_calls; beyond the
// latter a call waits (bounded in number and time) for a slot. Thread-safe.
class Admission {
 public:
  // Holds one call's slot (and its stream slot) until destroyed, then hands
  // the call slot to the next waiter.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept
        : admission_(std::exchange(other.admission_, nullptr)),
          stream_(other.stream_) {}
    Ticket& operator=(Ticket&& other) noexcept {
      std::swap(admission_, other.admission_);
      std::swap(stream_, other.stream_);
      return *this;
    }
    ~Ticket() {
      if (admission_ != nullptr) admission_->Release(stream_);
    }

   private:
    friend class Admission;
    Ticket(Admission* admission, bool stream)
        : admission_(admission), stream_(stream) {}
    Admission* admission_ = nullptr;
    bool stream_ = false;
  };

  struct Limits {
    int max_calls = 1 << 30;
    int max_waiting = 256;
    absl::Duration max_wait = absl::Seconds(1);
    int max_streams = 1 << 30;
  };

  // `timers` runs the wait timeouts and reports cancelled waits; `checks` run
  // in order after the draining test. Both must outlive this object.
  Admission(Limits limits, TimerQueue& timers,
            std::vector<AdmissionCheck*> checks = {})
      : limits_(limits),
        timers_(timers),
        checks_(std::move(checks)),
        waiting_(timers) {}

  // From now on calls are refused with UNAVAILABLE, so callers retry elsewhere
  // while calls in flight finish; waiting calls are refused too.
  void StartDraining();
  bool draining() const;
  // Whether any check is configured (callers may skip gathering what only
  // checks read, such as the peer's address).
  bool has_checks() const { return !checks_.empty(); }
  // Calls holding a slot, and long-lived streams among them.
  int active() const;
  int active_streams() const;

  // Calls refused so far, by reason.
  struct Rejections {
    int64_t draining = 0;
    int64_t too_many_waiting = 0;  // limits.max_waiting_calls
    int64_t wait_timeout = 0;      // limits.admission_wait
    int64_t max_streams = 0;       // limits.max_streams
    std::vector<std::pair<std::string, int64_t>> by_check;
  };
  Rejections rejections() const;

  // The answer of Admit(): a ticket now, a refusal now, or a wait whose end
  // `later` reports.
  struct Decision {
    std::optional<Ticket> ticket;  // admitted now
    absl::Status refused;          // refused now (not OK)
    uint64_t wait_id = 0;          // waiting: cancel with CancelWait
    bool waiting() const { return wait_id != 0; }
  };
  using Later = std::function<void(absl::StatusOr<Ticket>)>;
  // Decides on the caller's thread. Only when the call must wait does `later`
  // run, exactly once and never on this thread: with a ticket when a slot
  // frees (on the releasing call's thread), UNAVAILABLE when draining starts,
  // RESOURCE_EXHAUSTED when the wait times out (timer thread), CANCELLED
  // after CancelWait (timer thread).
  Decision Admit(const AdmissionRequest& request, Later later);
  // Withdraws a wait; its `later` then runs with CANCELLED on the timer
  // thread. No effect once it ended.
  void CancelWait(uint64_t id);

 private:
  struct Waiter {
    Later later;
    bool stream;
  };
  void Release(bool stream);
  void Expire(uint64_t id);

  const Limits limits_;
  TimerQueue& timers_;
  const std::vector<AdmissionCheck*> checks_;
  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  int active_streams_ ABSL_GUARDED_BY(mu_) = 0;
  Rejections rejections_ ABSL_GUARDED_BY(mu_);
  WaiterQueue<Waiter> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_ADMISSION_H_
