#ifndef VOXGATE_COMMON_BYTE_BUDGET_H_
#define VOXGATE_COMMON_BYTE_BUDGET_H_

#include <atomic>
#include <cstdint>

namespace voxgate {

// Bytes that all callers together may hold at once (request bodies being
// parsed, uploads spooled to disk, decoded audio): what the process would
// otherwise spend without bound, one caller at a time. Thread-safe and
// lock-free.
class ByteBudget {
 public:
  explicit ByteBudget(int64_t limit) : limit_(limit) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Takes `bytes`; false, taking nothing, when they do not fit.
  bool TryTake(int64_t bytes) {
    int64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) return false;
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

}  // namespace voxgate

#endif  // VOXGATE_COMMON_BYTE_BUDGET_H_
