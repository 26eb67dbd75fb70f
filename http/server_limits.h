#ifndef VOXGATE_HTTP_SERVER_LIMITS_H_
#define VOXGATE_HTTP_SERVER_LIMITS_H_

// What one HTTP server lets its callers hold at once: request bodies
// (bytes) and connections (in all, and per peer address). Internal to the
// server.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/byte_budget.h"

namespace voxgate::http::internal {

// Open connections, at most `max` in all and `max_per_peer` from one
// address (0: no per-peer limit). The acceptor asks before it takes the
// next connection; a connection holds its slot until the last owner of the
// slot lets go. Thread-safe.
class ConnectionGate {
 public:
  using Slot = std::shared_ptr<void>;

  ConnectionGate(int max, int max_per_peer)
      : max_(max), max_per_peer_(max_per_peer) {}

  // Whether another connection may be accepted now; when not, `resume` runs
  // (once, on the thread that frees a slot) as soon as one may.
  bool RoomFor(std::function<void()> resume) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    if (open_ < max_) return true;
    resume_ = std::move(resume);
    return false;
  }

  // No more resumes: the acceptor is going away.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    resume_ = nullptr;
  }

  // A slot for a connection from `peer` (an address without the port), or
  // null when that peer holds max_per_peer already. The gate must outlive
  // every slot.
  Slot Enter(const std::string& peer) {
    absl::MutexLock lock(&mu_);
    int& from_peer = per_peer_[peer];
    if (max_per_peer_ > 0 && from_peer >= max_per_peer_) return nullptr;
    ++from_peer;
    ++open_;
    // Non-null (the gate's address), so that a slot tests true.
    return Slot(static_cast<void*>(this), [this, peer](void*) { Leave(peer); });
  }

  int open() const {
    absl::MutexLock lock(&mu_);
    return open_;
  }

 private:
  void Leave(const std::string& peer) {
    std::function<void()> resume;
    {
      absl::MutexLock lock(&mu_);
      --open_;
      auto it = per_peer_.find(peer);
      if (it != per_peer_.end() && --it->second == 0) per_peer_.erase(it);
      if (open_ < max_) resume = std::move(resume_);
      resume_ = nullptr;
    }
    if (resume) resume();
  }

  const int max_;
  const int max_per_peer_;
  mutable absl::Mutex mu_;
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, int> per_peer_ ABSL_GUARDED_BY(mu_);
  std::function<void()> resume_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::http::internal

#endif  // VOXGATE_HTTP_SERVER_LIMITS_H_
