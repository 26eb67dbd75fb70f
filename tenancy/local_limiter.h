#ifndef VOXGATE_TENANCY_LOCAL_LIMITER_H_
#define VOXGATE_TENANCY_LOCAL_LIMITER_H_

#include <deque>
#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "tenancy/limiter.h"

namespace voxgate::tenancy {

// The limits of one replica, in memory: without a shared store each replica
// enforces every limit on its own traffic. Answers inline. Thread-safe.
class LocalLimiter final : public Limiter {
 public:
  explicit LocalLimiter(Clock& clock) : clock_(clock) {}

  void Check(const LimitClaim& claim, Done done) override;
  void Charge(const std::string& tenant, int64_t tokens,
              double audio_seconds) override;

 private:
  // A counter of the current window only (older windows are forgotten).
  struct WindowCount {
    int64_t window = -1;
    double used = 0;
  };
  absl::Status CheckLocked(const LimitClaim& claim)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  absl::Mutex mu_;
  // Admission times in the last minute, per tenant and method class.
  std::map<std::pair<std::string, int>, std::deque<absl::Time>> requests_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, WindowCount> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, WindowCount> audio_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_LOCAL_LIMITER_H_
