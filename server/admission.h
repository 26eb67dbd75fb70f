#ifndef VOXGATE_SERVER_ADMISSION_H_
#define VOXGATE_SERVER_ADMISSION_H_

#include <atomic>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace voxgate::server {

// Decides whether a new call may start: refuses while draining and beyond the
// concurrent-call limit. Lock-free; reactions call it on every call.
// Thread-safe.
class Admission {
 public:
  // Holds one call's place until destroyed.
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
      if (admission_ != nullptr)
        admission_->active_.fetch_sub(1, std::memory_order_relaxed);
    }

   private:
    Admission* admission_;
  };

  explicit Admission(int max_calls = 1 << 30) : max_calls_(max_calls) {}

  // From now on Admit() refuses with UNAVAILABLE, so callers retry elsewhere
  // while calls in flight finish.
  void StartDraining() { draining_.store(true, std::memory_order_relaxed); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  int active() const { return active_.load(std::memory_order_relaxed); }

  // A ticket, or UNAVAILABLE while draining, or RESOURCE_EXHAUSTED at the
  // limit.
  absl::StatusOr<Ticket> Admit() {
    if (draining()) {
      return absl::UnavailableError(
          "voxgate is draining for shutdown; retry on another replica");
    }
    if (active_.fetch_add(1, std::memory_order_relaxed) >= max_calls_) {
      active_.fetch_sub(1, std::memory_order_relaxed);
      return absl::ResourceExhaustedError(absl::StrCat(
          "voxgate is at its limit of ", max_calls_,
          " concurrent calls (limits.max_concurrent_calls); retry later"));
    }
    return Ticket(this);
  }

 private:
  const int max_calls_;
  std::atomic<bool> draining_{false};
  std::atomic<int> active_{0};
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_ADMISSION_H_
