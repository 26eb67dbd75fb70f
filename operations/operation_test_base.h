#ifndef VOXGATE_OPERATIONS_OPERATION_TEST_BASE_H_
#define VOXGATE_OPERATIONS_OPERATION_TEST_BASE_H_

// What a test of one operation or session needs instead of a gateway process
// and a door: the held fake backends (the test answers, fails or watches each
// upstream request), a ManualClock under the timers, real audio workers, and
// the call's context and cancel scope as a door would hold them.

#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  bool ready() {
    absl::MutexLock lock(&mu_);
    return result_.has_value();
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

// A door as a session sees it: records every response and its end, and
// counts the times the session asked for more input.
template <typename Output, typename Response>
class RecordingSessionOutput final : public Output {
 public:
  void OnResponse(Response response) override {
    absl::MutexLock lock(&mu_);
    responses_.push_back(std::move(response));
  }
  void OnReadyForInput() override {
    absl::MutexLock lock(&mu_);
    ++ready_;
  }
  void OnEnd(absl::Status status) override {
    absl::MutexLock lock(&mu_);
    end_ = std::move(status);
  }

  // Waits until the session asked for input `count` times in all; false when
  // it ended first or never did.
  bool AwaitReady(int count) {
    absl::MutexLock lock(&mu_);
    auto ready = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return ready_ >= count || end_.has_value();
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(60));
    return ready_ >= count;
  }
  absl::Status AwaitEnd() {
    absl::MutexLock lock(&mu_);
    auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return end_.has_value();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ended), absl::Seconds(60))) {
      return absl::DeadlineExceededError("test: the session never ended");
    }
    return *end_;
  }
  bool ended() {
    absl::MutexLock lock(&mu_);
    return end_.has_value();
  }
  std::vector<Response> responses() {
    absl::MutexLock lock(&mu_);
    return responses_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Response> responses_ ABSL_GUARDED_BY(mu_);
  int ready_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
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

  // What a fake transcription backend answers: `text` alone.
  static upstream::Transcription Text(const std::string& text) {
    upstream::Transcription transcription;
    transcription.text = text;
    return transcription;
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
