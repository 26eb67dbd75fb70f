#ifndef VOXGATE_SERVER_SPOOL_BUDGET_H_
#define VOXGATE_SERVER_SPOOL_BUDGET_H_

#include <atomic>
#include <cstdint>

namespace voxgate::server {

// The bytes every upload together may spool to disk (audio.max_spool_bytes):
// a full volume would fail every upload at once, or get the pod evicted.
// Thread-safe.
class SpoolBudget {
 public:
  explicit SpoolBudget(int64_t limit) : limit_(limit) {}

  // Takes `bytes` of the budget; false, taking nothing, when they do not fit.
  bool TryTake(int64_t bytes) {
    int64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (used + bytes > limit_) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes,
                                          std::memory_order_relaxed));
    return true;
  }
  void Give(int64_t bytes) {
    used_.fetch_sub(bytes, std::memory_order_relaxed);
  }
  int64_t limit() const { return limit_; }
  int64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  const int64_t limit_;
  std::atomic<int64_t> used_{0};
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_SPOOL_BUDGET_H_
