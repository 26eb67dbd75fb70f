#ifndef VOXGATE_OPERATIONS_OPERATION_TEST_BASE_H_
#define VOXGATE_OPERATIONS_OPERATION_TEST_BASE_H_

// What a test of one operation or session needs instead of a gateway process
// and a door: the held fake backends (the test answers, fails or watches each
// upstream request), a ManualClock under the timers, real audio workers, and
// the call's context and cancel scope as a door would hold them.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "call/call_context.h"
#include "call/call_scope.h"
#include "common/cancel_scope.h"
#include "common/manual_clock.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "gtest/gtest.h"
#include "operations/operation_services.h"
#include "upstream/fake_backends.h"

namespace voxgate::operations {

// The one answer of an operation, as its `done` delivers it on another
// thread.
template <typename T>
class Outcome {
 public:
  std::function<void(absl::StatusOr<T>)> Callback() {
    return [this](absl::StatusOr<T> result) {
      absl::MutexLock lock(&mu_);
      ++calls_;
      result_ = std::move(result);
    };
  }
  // Waits for the answer; a test that never gets one fails here, not by
  // hanging (the bound is a ceiling for a hang, never a margin).
  absl::StatusOr<T> Await() {
    absl::MutexLock lock(&mu_);
    auto arrived = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return result_.has_value();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(60))) {
      return absl::DeadlineExceededError("test: the operation never answered");
    }
    return *result_;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::optional<absl::StatusOr<T>> result_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

class OperationTest : public ::testing::Test {
 protected:
  explicit OperationTest(const std::string& yaml = "{}")
      : config_(LoadConfigFromYaml(yaml).value()),
        services_{config_, routing_, workers_, timers_} {
    call_.request_id = "test-request";
    call_.started = clock_.Now();
    call_.deadline = clock_.Now() + absl::Minutes(1);
  }

  call::CallScope Scope() {
    return call::CallScope{call_, work_, pool_,
                           [] { return std::shared_ptr<void>(); }};
  }
  upstream::FakeChatBackend& chat() { return routing_.chat(); }
  upstream::FakeChatBackend& audio_chat() { return routing_.audio_chat(); }
  upstream::FakeTranscriptionBackend& transcription() {
    return routing_.transcription();
  }

  ManualClock clock_;
  TimerQueue timers_{clock_};
  WorkerPool workers_{2, 16};
  upstream::FakeRouting routing_;
  Config config_;
  OperationServices services_;
  call::CallContext call_;
  CancelScope work_;
  std::string pool_;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_OPERATION_TEST_BASE_H_
