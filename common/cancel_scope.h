#ifndef VOXGATE_COMMON_CANCEL_SCOPE_H_
#define VOXGATE_COMMON_CANCEL_SCOPE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace voxgate {

// The work one call has started (upstream transfers, worker jobs, waits for
// admission or a pool slot, timers), so that a cancel reaches all of it
// whichever comes first. The pattern every call follows:
//
//   const CancelScope::Key key = work_.Reserve();   // before starting
//   auto handle = StartSomething(..., [..] { work_.Done(key); ... });
//   work_.Attach(key, handle);                       // after starting
//
// A Cancel() that arrives before Attach is remembered and applied by Attach;
// an Attach after the work already ended (Done) is dropped. Cancel functions
// run after the scope's lock is released, on the thread calling Cancel or
// Attach; the work they stop reports its end on another thread (no completion
// in Voxgate runs inline in a cancel), so callers may hold their own locks.
// Thread-safe.
class CancelScope {
 public:
  using Key = uint64_t;

  Key Reserve() {
    absl::MutexLock lock(&mu_);
    const Key key = next_key_++;
    work_.emplace_back(key, nullptr);
    return key;
  }

  // The work reserved under `key` started; `cancel` stops it.
  void Attach(Key key, std::function<void()> cancel) {
    if (cancel == nullptr) return Done(key);
    {
      absl::MutexLock lock(&mu_);
      auto it = Find(key);
      if (it == work_.end()) return;  // already over
      if (!cancelled_) {
        it->second = std::move(cancel);
        return;
      }
      work_.erase(it);
    }
    cancel();
  }
  // For handles with a Cancel() method (upstream::Transfer and the like).
  template <typename Handle>
  void Attach(Key key, std::shared_ptr<Handle> handle) {
    if (handle == nullptr) return Done(key);
    Attach(key, [handle = std::move(handle)] { handle->Cancel(); });
  }

  // Starts work under this scope: the pattern above in one call. `start`
  // receives `done` (call it as the work ends, on any thread, possibly
  // before `start` returns) and returns the work's handle (with Cancel()) or
  // a function that cancels it (or null). The scope must outlive `done`.
  template <typename Start>
  void Run(Start&& start) {
    const Key key = Reserve();
    Attach(key, start([this, key] { Done(key); }));
  }

  // The work under `key` ended; it no longer needs cancelling.
  void Done(Key key) {
    std::function<void()> dropped;  // destroyed outside the lock
    absl::MutexLock lock(&mu_);
    if (auto it = Find(key); it != work_.end()) {
      dropped = std::move(it->second);
      work_.erase(it);
    }
  }

  // Cancels everything attached, and everything attached from now on.
  // Idempotent.
  void Cancel() {
    std::vector<std::pair<Key, std::function<void()>>> work;
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return;
      cancelled_ = true;
      // Reserved but not yet attached: Attach cancels it.
      for (auto it = work_.begin(); it != work_.end();) {
        if (it->second != nullptr) {
          work.push_back(std::move(*it));
          it = work_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& [key, cancel] : work) cancel();
  }

  bool cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }
  // Work reserved and not yet done.
  int pending() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(work_.size());
  }

 private:
  using Entry = std::pair<Key, std::function<void()>>;
  std::vector<Entry>::iterator Find(Key key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto it = work_.begin(); it != work_.end(); ++it) {
      if (it->first == key) return it;
    }
    return work_.end();
  }

  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  Key next_key_ ABSL_GUARDED_BY(mu_) = 1;
  // Few at a time (a call's steps, a stream's utterances): a vector is
  // cheaper than a map.
  std::vector<Entry> work_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_CANCEL_SCOPE_H_
