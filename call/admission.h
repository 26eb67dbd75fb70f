#ifndef VOXGATE_CALL_ADMISSION_H_
#define VOXGATE_CALL_ADMISSION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/timer_queue.h"
#include "common/waiter_queue.h"

namespace voxgate::call {

// The classes of method that limits are set by (the seed servers' endpoint
// classes).
enum class MethodClass { kGeneral, kTranscription, kUnderstanding, kBatch };

// The caller's request metadata (gRPC metadata, HTTP headers), for checks that
// need it (API keys). Keys are lower case.
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
  // Waits on something else for long (WaitOperation): holds no call slot,
  // which it would keep from other callers for minutes, but one of
  // limits.max_long_polls; never queued.
  bool long_poll = false;
  absl::string_view peer;  // "ipv4:127.0.0.1:5555"
  // The verified client-certificate identity (mTLS), or empty.
  absl::string_view identity;
  // The model the request names ("" when it leaves it to the gateway, or
  // when the call names it later, as streams do in their first message).
  absl::string_view model;
  bool model_known = false;  // whether `model` was read from the request
  const CallerMetadata* metadata = nullptr;
  // Size of the request message, when the call starts with one; 0 otherwise.
  int64_t request_bytes = 0;
};

// What a call used, reported once as it ends (quotas are charged with it).
struct CallUsage {
  absl::string_view method;
  absl::StatusCode code = absl::StatusCode::kOk;
  double audio_seconds = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// What a check granted a call: who the caller is, and the per-caller slots it
// holds. Lives as long as the call's ticket; destroying it frees them.
class CallGrant {
 public:
  virtual ~CallGrant() = default;
  // The tenant, for log lines and metrics ("" when there is none).
  virtual const std::string& tenant() const = 0;
  // A model the call names after admission (a stream's first message):
  // PERMISSION_DENIED naming it when the tenant may not use it.
  virtual absl::Status CheckModel(absl::string_view model) const = 0;
  // Charges the call's usage to the tenant's quotas. Called at most once,
  // as the call ends; must not block.
  virtual void Charge(const CallUsage& usage) = 0;
  // What charges usage that comes after the call has ended (a batch's files,
  // as each finishes): any number of times, from any thread, while the
  // gateway runs; must not block. Null: nothing to charge.
  using LaterCharge = std::function<void(const CallUsage& usage)>;
  virtual LaterCharge ChargeLater() const { return nullptr; }
  // What checks the tenant's quotas (tokens a day, audio seconds an hour)
  // before work that starts after the call has ended (each file of a
  // batch): `done` runs once, inline or later on another thread, with OK or
  // RESOURCE_EXHAUSTED naming the quota. Same lifetime as ChargeLater's.
  // Null: nothing to check.
  using QuotaCheck =
      std::function<void(std::function<void(absl::Status)> done)>;
  virtual QuotaCheck CheckQuotasLater() const { return nullptr; }
  // Whether the key (or client identity) the call was admitted with has
  // been revoked since (the keys file changed): long-lived streams ask every
  // kRevocationCheckInterval and end UNAUTHENTICATED.
  virtual bool revoked() const { return false; }
  // Hosts this caller may fetch audio.uri from besides
  // audio.fetch.allowed_hosts (whatever addresses they resolve to).
  virtual std::vector<std::string> fetch_allowed_hosts() const { return {}; }
};

inline constexpr absl::Duration kRevocationCheckInterval = absl::Seconds(1);

// UNAUTHENTICATED when `grant` (may be null) was revoked, else OK.
inline absl::Status RevocationOf(const CallGrant* grant) {
  if (grant == nullptr || !grant->revoked()) return absl::OkStatus();
  return absl::UnauthenticatedError(
      "the API key (or client certificate identity) this stream was admitted "
      "with is no longer in the keys file: the stream is ended");
}

// The step of admission beyond the built-in limits: authentication, method
// and model permissions, rate limits and quotas. Must not block.
class AdmissionCheck {
 public:
  using Done = std::function<void(absl::StatusOr<std::unique_ptr<CallGrant>>)>;
  virtual ~AdmissionCheck() = default;
  // Runs `done` exactly once: on this thread before returning when it can
  // decide at once, else later on another thread (a shared store's answer).
  // OK carries the grant (may be null); a refusal is UNAUTHENTICATED,
  // PERMISSION_DENIED, RESOURCE_EXHAUSTED (with a RetryInfo payload) or
  // UNAVAILABLE.
  virtual void Check(const AdmissionRequest& request, Done done) = 0;
  // Who the caller is, from what arrives before a request's body (metadata,
  // the client certificate's identity): UNAUTHENTICATED when no tenant is
  // found, so a door refuses before it reads or parses the body. Check()
  // decides the rest later. Must not block.
  virtual absl::Status Authenticate(const CallerMetadata& metadata,
                                    absl::string_view identity) = 0;
};

// The one admission step of every call, gRPC and HTTP alike: refuses while
// draining, runs the configured check (which may answer later), counts
// long-lived streams against limits.max_streams and calls against
// limits.max_concurrent_calls; beyond the latter a call waits (bounded in
// number and time) for a slot. Thread-safe.
class Admission {
 public:
  // Holds one call's slot (and its stream slot) until destroyed, then hands
  // the call slot to the next waiter.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept
        : admission_(std::exchange(other.admission_, nullptr)),
          stream_(other.stream_),
          long_poll_(other.long_poll_),
          grant_(std::move(other.grant_)) {}
    Ticket& operator=(Ticket&& other) noexcept {
      std::swap(admission_, other.admission_);
      std::swap(stream_, other.stream_);
      std::swap(long_poll_, other.long_poll_);
      std::swap(grant_, other.grant_);
      return *this;
    }
    ~Ticket() {
      if (admission_ == nullptr) return;
      if (long_poll_) {
        admission_->ReleaseLongPoll();
      } else {
        admission_->Release(stream_);
      }
    }
    // What the check granted, or null (no check, or it granted nothing).
    CallGrant* grant() const { return grant_.get(); }

   private:
    friend class Admission;
    Ticket(Admission* admission, bool stream, std::unique_ptr<CallGrant> grant,
           bool long_poll = false)
        : admission_(admission),
          stream_(stream),
          long_poll_(long_poll),
          grant_(std::move(grant)) {}
    Admission* admission_ = nullptr;
    bool stream_ = false;
    bool long_poll_ = false;
    std::unique_ptr<CallGrant> grant_;
  };

  struct Limits {
    int max_calls = 1 << 30;
    int max_waiting = 256;
    absl::Duration max_wait = absl::Seconds(1);
    int max_streams = 1 << 30;
    int max_long_polls = 256;
  };

  // `timers` runs the wait timeouts and reports cancelled waits; `check` (may
  // be null) runs after the draining test. Both must outlive this object.
  Admission(Limits limits, TimerQueue& timers, AdmissionCheck* check = nullptr)
      : limits_(limits), timers_(timers), check_(check), waiting_(timers) {}

  // From now on calls are refused with UNAVAILABLE, so callers retry elsewhere
  // while calls in flight finish; waiting calls are refused too.
  void StartDraining();
  bool draining() const;
  // Whether a check is configured (callers may skip gathering what only
  // checks read, such as the peer's address).
  bool has_checks() const { return check_ != nullptr; }
  // The check's Authenticate (OK without a check): for doors, before they
  // read a body.
  absl::Status Authenticate(const CallerMetadata& metadata,
                            absl::string_view identity) const {
    return check_ == nullptr ? absl::OkStatus()
                             : check_->Authenticate(metadata, identity);
  }
  // Calls holding a slot, and long-lived streams among them.
  int active() const;
  int active_streams() const;

  // Calls refused so far, by reason.
  struct Rejections {
    int64_t draining = 0;
    int64_t too_many_waiting = 0;  // limits.max_waiting_calls
    int64_t wait_timeout = 0;      // limits.admission_wait
    int64_t max_streams = 0;       // limits.max_streams
    int64_t max_long_polls = 0;    // limits.max_long_polls
    // Refusals of the check, by code ("unauthenticated", ...).
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
  // Decides on the caller's thread. Only when the call must wait (for the
  // check's answer or for a slot) does `later` run, exactly once and never on
  // this thread: with a ticket when a slot frees (on the releasing call's
  // thread) or the check admits (on its thread), with the check's refusal,
  // UNAVAILABLE when draining starts, RESOURCE_EXHAUSTED when the wait times
  // out (timer thread), CANCELLED after CancelWait (timer thread).
  Decision Admit(const AdmissionRequest& request, Later later);
  // Withdraws a wait; its `later` then runs with CANCELLED on the timer
  // thread. No effect once it ended.
  void CancelWait(uint64_t id);

 private:
  struct Waiter {
    Later later;
    bool stream;
    std::unique_ptr<CallGrant> grant;
    uint64_t check_id = 0;  // the wait's id while the check ran, or 0
  };
  // A call whose check has not answered yet.
  struct Checking {
    Later later;
    bool stream = false;
    bool long_poll = false;
    bool returned = false;  // Admit() has returned (the answer is late)
    std::optional<absl::StatusOr<std::unique_ptr<CallGrant>>> early;
  };
  // Ids of waits for the check have this bit; waits for a slot do not.
  static constexpr uint64_t kCheckBit = uint64_t{1} << 63;

  void OnChecked(uint64_t id, std::shared_ptr<Checking> checking,
                 absl::StatusOr<std::unique_ptr<CallGrant>> grant);
  // After the checks: a slot now, a refusal, or a place in the queue.
  Decision TakeSlotLocked(bool stream, std::unique_ptr<CallGrant> grant,
                          Later later, uint64_t check_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A long poll's slot now, or RESOURCE_EXHAUSTED naming
  // limits.max_long_polls.
  Decision TakeLongPollLocked(std::unique_ptr<CallGrant> grant)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseLongPoll();
  void CountCheckRefusalLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LeftQueueLocked(const Waiter& waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release(bool stream);
  void Expire(uint64_t id);

  const Limits limits_;
  TimerQueue& timers_;
  AdmissionCheck* const check_;
  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  int active_streams_ ABSL_GUARDED_BY(mu_) = 0;
  int active_long_polls_ ABSL_GUARDED_BY(mu_) = 0;
  Rejections rejections_ ABSL_GUARDED_BY(mu_);
  WaiterQueue<Waiter> waiting_ ABSL_GUARDED_BY(mu_);
  uint64_t next_check_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, std::shared_ptr<Checking>> checking_ ABSL_GUARDED_BY(mu_);
  // Check waits that moved on to the slot queue: check id to queue id.
  std::map<uint64_t, uint64_t> queued_after_check_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_ADMISSION_H_
