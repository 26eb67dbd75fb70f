#ifndef VOXGATE_COMMON_WORKER_POOL_H_
#define VOXGATE_COMMON_WORKER_POOL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace voxgate {

// A fixed set of threads for CPU work (decoding, resampling, VAD, embedded ASR)
// with a bounded queue, shared by the process. Thread-safe.
class WorkerPool {
 public:
  WorkerPool(int threads, int max_queue);
  // Runs the jobs already queued, then joins.
  ~WorkerPool();

  // Queues `job`; RESOURCE_EXHAUSTED naming the limit when the queue is full.
  absl::Status TrySubmit(std::function<void()> job);
  // Queues `job` ahead of the TrySubmit jobs and regardless of the queue
  // limit: for real-time streams, which bound their own jobs (one at a time
  // per stream, streams capped by limits.max_streams) and would lose audio if
  // refused, and which wait on it while a Transcribe decode can take
  // seconds. Not strictly ahead: every kBatchTurn-th job a worker takes is a
  // TrySubmit one when any waits, so a busy real-time lane cannot starve the
  // other (which holds, among others, the final decodes streams wait for).
  // UNAVAILABLE only when shutting down.
  absl::Status SubmitRealTime(std::function<void()> job);

  int queued() const;
  // Jobs refused by TrySubmit because the queue was full.
  int64_t refused() const { return refused_.load(); }
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Run();

  const int max_queue_;
  std::atomic<int64_t> refused_{0};
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> real_time_jobs_ ABSL_GUARDED_BY(mu_);
  static constexpr int kBatchTurn = 4;
  int taken_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_WORKER_POOL_H_
