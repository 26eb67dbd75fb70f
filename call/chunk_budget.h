#ifndef VOXGATE_CALL_CHUNK_BUDGET_H_
#define VOXGATE_CALL_CHUNK_BUDGET_H_

#include <functional>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace voxgate::call {

// Chunks in flight upstream shared by several transcriptions (the files of
// one batch), so that together they use no more than one Transcribe may.
// A transcription that finds no slot leaves a wake-up; every release wakes
// every sleeper, which then tries again (a sleeper that has ended meanwhile
// must not swallow the slot, and sleepers are few: a batch's files in
// flight). Thread-safe.
class ChunkBudget {
 public:
  explicit ChunkBudget(int slots) : free_(slots) {}

  // Takes a slot, or leaves `wake` to run (once, on a releasing thread,
  // outside every lock of this class) when one frees, and returns false.
  bool TryTake(std::function<void()> wake) {
    absl::MutexLock lock(&mu_);
    if (free_ > 0) {
      --free_;
      return true;
    }
    sleepers_.push_back(std::move(wake));
    return false;
  }

  void Release() {
    std::vector<std::function<void()>> woken;
    {
      absl::MutexLock lock(&mu_);
      ++free_;
      woken.swap(sleepers_);
    }
    for (auto& wake : woken) wake();
  }

  int free_slots() const {
    absl::MutexLock lock(&mu_);
    return free_;
  }

 private:
  mutable absl::Mutex mu_;
  int free_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> sleepers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_CHUNK_BUDGET_H_
