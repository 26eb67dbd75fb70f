#include "common/worker_pool.h"

#include "absl/strings/str_cat.h"

namespace voxgate {

WorkerPool::WorkerPool(int threads, int max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

absl::Status WorkerPool::TrySubmit(std::function<void()> job) {
  absl::MutexLock lock(&mu_);
  if (stopping_)
    return absl::UnavailableError("audio workers are shutting down");
  if (static_cast<int>(jobs_.size()) >= max_queue_) {
    refused_.fetch_add(1);
    return absl::ResourceExhaustedError(
        absl::StrCat("audio worker queue is full (", max_queue_,
                     " jobs waiting, audio.worker_queue); retry later"));
  }
  jobs_.push_back(std::move(job));
  return absl::OkStatus();
}

absl::Status WorkerPool::SubmitRealTime(std::function<void()> job) {
  absl::MutexLock lock(&mu_);
  if (stopping_)
    return absl::UnavailableError("audio workers are shutting down");
  real_time_jobs_.push_back(std::move(job));
  return absl::OkStatus();
}

int WorkerPool::queued() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(jobs_.size() + real_time_jobs_.size());
}

void WorkerPool::Run() {
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WorkerPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
            return pool->stopping_ || !pool->jobs_.empty() ||
                   !pool->real_time_jobs_.empty();
          },
          this));
      const bool batch_turn = ++taken_ % kBatchTurn == 0 && !jobs_.empty();
      std::deque<std::function<void()>>& queue =
          real_time_jobs_.empty() || batch_turn ? jobs_ : real_time_jobs_;
      if (queue.empty()) return;  // stopping and drained
      job = std::move(queue.front());
      queue.pop_front();
    }
    job();
  }
}

}  // namespace voxgate
