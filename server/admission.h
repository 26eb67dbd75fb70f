#ifndef VOXGATE_SERVER_ADMISSION_H_
#define VOXGATE_SERVER_ADMISSION_H_

#include <atomic>

#include "absl/status/status.h"

namespace voxgate::server {

// Decides whether a new call may start. Thread-safe and lock-free: reactions
// call Admit() on every call.
class Admission {
 public:
  // From now on Admit() refuses with UNAVAILABLE, so callers retry elsewhere
  // while calls in flight finish.
  void StartDraining() { draining_.store(true, std::memory_order_relaxed); }

  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  // OK, or UNAVAILABLE while draining.
  absl::Status Admit() const {
    if (draining()) {
      return absl::UnavailableError(
          "voxgate is draining for shutdown; retry on another replica");
    }
    return absl::OkStatus();
  }

 private:
  std::atomic<bool> draining_{false};
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_ADMISSION_H_
