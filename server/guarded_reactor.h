#ifndef VOXGATE_SERVER_GUARDED_REACTOR_H_
#define VOXGATE_SERVER_GUARDED_REACTOR_H_

#include <deque>
#include <functional>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace voxgate::server {

// A gRPC callback reactor touched from several threads (gRPC's, the audio
// workers', the upstream loop's) with two rules built in:
//
//  - StartRead/StartWrite/Finish never run under mu_: gRPC may run the
//    reaction (OnReadDone, OnWriteDone, OnDone) inline on the calling thread,
//    and reactions take mu_. Code under mu_ queues them with AfterUnlock.
//  - The reactor is deleted only when OnDone has come and no thread is still
//    inside it (holding a Lock or a Pin). gRPC may call OnDone on its own
//    thread right after Finish, while the thread that queued the Finish is
//    still unwinding.
template <typename Base>
class GuardedReactor : public Base {
 public:
  void OnDone() final {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      if (inside_ > 0) return;  // the last one out deletes
    }
    delete this;
  }

 protected:
  // Keeps the reactor alive without holding mu_, for code that calls out
  // (to a backend that may answer on this thread) and comes back.
  class Pin {
   public:
    explicit Pin(GuardedReactor* reactor) : reactor_(reactor) {
      absl::MutexLock lock(&reactor_->mu_);
      ++reactor_->inside_;
    }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin() { reactor_->Leave(); }

   private:
    GuardedReactor* reactor_;
  };

  // Holds mu_ (and a pin); on release runs the operations queued under it.
  class Lock {
   public:
    explicit Lock(GuardedReactor* reactor)
        ABSL_EXCLUSIVE_LOCK_FUNCTION(reactor->mu_)
        : reactor_(reactor) {
      reactor_->mu_.Lock();
      ++reactor_->inside_;
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock() ABSL_UNLOCK_FUNCTION() {
      reactor_->mu_.Unlock();
      reactor_->Leave();
    }

   private:
    GuardedReactor* reactor_;
  };

  virtual ~GuardedReactor() = default;

  // Runs `op` (a StartRead, StartWrite or Finish) after mu_ is released, in
  // the order queued.
  void AfterUnlock(std::function<void()> op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ops_.push_back(std::move(op));
  }

  absl::Mutex mu_;

 private:
  void Leave() {
    RunQueuedOps();
    bool destroy;
    {
      absl::MutexLock lock(&mu_);
      destroy = --inside_ == 0 && done_;
    }
    if (destroy) delete this;
  }

  void RunQueuedOps() {
    {
      absl::MutexLock lock(&mu_);
      if (running_ops_) return;  // the thread running them takes these too
      running_ops_ = true;
    }
    while (true) {
      std::function<void()> op;
      {
        absl::MutexLock lock(&mu_);
        if (ops_.empty()) {
          running_ops_ = false;
          return;
        }
        op = std::move(ops_.front());
        ops_.pop_front();
      }
      op();
    }
  }

  std::deque<std::function<void()>> ops_ ABSL_GUARDED_BY(mu_);
  bool running_ops_ ABSL_GUARDED_BY(mu_) = false;
  int inside_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_GUARDED_REACTOR_H_
