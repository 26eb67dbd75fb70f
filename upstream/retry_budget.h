#ifndef VOXGATE_UPSTREAM_RETRY_BUDGET_H_
#define VOXGATE_UPSTREAM_RETRY_BUDGET_H_

#include <algorithm>

#include "absl/synchronization/mutex.h"

namespace voxgate::upstream {

// Caps retries at a share of requests, so a failing upstream does not get more
// than (1 + ratio) times the load: every request earns `ratio` tokens (up to
// `max_tokens`), every retry spends one. `initial_tokens` lets a few retries
// through before traffic has earned any. Thread-safe.
class RetryBudget {
 public:
  explicit RetryBudget(double ratio = 0.2, double initial_tokens = 10,
                       double max_tokens = 100)
      : ratio_(ratio), max_tokens_(max_tokens), tokens_(initial_tokens) {}

  void OnRequest() {
    absl::MutexLock lock(&mu_);
    tokens_ = std::min(max_tokens_, tokens_ + ratio_);
  }

  // Spends a token; false when the budget is used up.
  bool TryRetry() {
    absl::MutexLock lock(&mu_);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double ratio_;
  const double max_tokens_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_RETRY_BUDGET_H_
