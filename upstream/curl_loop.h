#ifndef VOXGATE_UPSTREAM_CURL_LOOP_H_
#define VOXGATE_UPSTREAM_CURL_LOOP_H_

// The HTTP client's event loop over a libcurl multi handle, on one thread.
// Internal to http_client.cc and curl_transfer.cc.

#include <curl/curl.h>

#include <atomic>
#include <deque>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "upstream/curl_transfer.h"

namespace voxgate::upstream::curl {

// How often the loop looks for transfers past their first-byte or stall
// timeouts.
constexpr absl::Duration kStallCheckInterval = absl::Milliseconds(100);

// The event loop: owns the multi handle and the thread. Kept alive by the
// client and reachable from transfers through weak pointers.
class LoopCore {
 public:
  enum class Command { kStart, kCancel, kResume };

  explicit LoopCore(std::unique_ptr<CURLM, CurlMultiDeleter> multi)
      : multi_(std::move(multi)) {}

  void Run();
  void Stop() {
    stopping_.store(true);
    curl_multi_wakeup(multi_.get());
  }
  void Post(Command command, std::shared_ptr<CurlTransfer> transfer) {
    bool first;
    {
      absl::MutexLock lock(&mu_);
      first = commands_.empty();
      commands_.emplace_back(command, std::move(transfer));
    }
    // One wake-up per batch; none from the loop's own callbacks, since the loop
    // looks at the queue before it polls again.
    if (first && std::this_thread::get_id() != loop_thread_.load()) {
      curl_multi_wakeup(multi_.get());
    }
  }
  int active() const { return active_.load(std::memory_order_relaxed); }
  void CountStarted() { active_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void RunCommands();
  void Complete(CURL* easy, absl::Status status);
  void FailStalled();
  bool HasCommands() {
    absl::MutexLock lock(&mu_);
    return !commands_.empty();
  }
  // An easy handle from the idle list or a new one; handles are reused because
  // creating them costs more than resetting them.
  CURL* TakeEasy() {
    if (idle_easy_.empty()) return curl_easy_init();
    CURL* easy = idle_easy_.back();
    idle_easy_.pop_back();
    return easy;
  }
  void RecycleEasy(CURL* easy) {
    if (easy == nullptr) return;
    if (idle_easy_.size() >= kMaxIdleEasyHandles) {
      curl_easy_cleanup(easy);
      return;
    }
    curl_easy_reset(easy);
    idle_easy_.push_back(easy);
  }
  static constexpr std::size_t kMaxIdleEasyHandles = 256;

  std::unique_ptr<CURLM, CurlMultiDeleter> multi_;
  std::atomic<std::thread::id> loop_thread_;
  std::vector<CURL*> idle_easy_;  // loop thread only
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  absl::Mutex mu_;
  std::deque<std::pair<Command, std::shared_ptr<CurlTransfer>>> commands_
      ABSL_GUARDED_BY(mu_);
  // Loop thread only: transfers added to the multi handle.
  std::unordered_map<CURL*, std::shared_ptr<CurlTransfer>> running_;
};

}  // namespace voxgate::upstream::curl

#endif  // VOXGATE_UPSTREAM_CURL_LOOP_H_
