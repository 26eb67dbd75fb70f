#include "operations/chat_stream_operation.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/manual_clock.h"
#include "common/status_matchers.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "upstream/fake_backends.h"

namespace voxgate::operations {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::voxgate::testing::StatusIs;

// A door as the operation sees it: records every write and the end, and
// completes writes only when the test says (as a slow client would).
class RecordingOutput final : public ChatStreamOutput {
 public:
  void Write(v1::ChatChunk chunk, bool first, bool last) override {
    absl::MutexLock lock(&mu_);
    writes_.push_back({std::move(chunk), first, last});
  }
  void End(absl::Status status, bool sent_any) override {
    absl::MutexLock lock(&mu_);
    end_ = status;
    sent_any_ = sent_any;
  }
  struct Written {
    v1::ChatChunk chunk;
    bool first, last;
  };
  // Waits for the `n`-th write (1-based).
  Written AwaitWrite(int n) {
    absl::MutexLock lock(&mu_);
    wanted_ = n;
    mu_.Await(absl::Condition(this, &RecordingOutput::HasWanted));
    return writes_[n - 1];
  }
  absl::Status AwaitEnd() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](std::optional<absl::Status>* end) { return end->has_value(); },
        &end_));
    return *end_;
  }
  bool sent_any() {
    absl::MutexLock lock(&mu_);
    return sent_any_;
  }
  int writes() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(writes_.size());
  }

 private:
  absl::Mutex mu_;
  std::vector<Written> writes_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  bool sent_any_ ABSL_GUARDED_BY(mu_) = false;
  int wanted_ ABSL_GUARDED_BY(mu_) = 0;

  bool HasWanted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(writes_.size()) >= wanted_;
  }
};

upstream::ChatDelta Delta(const std::string& content) {
  upstream::ChatDelta delta;
  delta.content = content;
  delta.model = "fake-model";
  return delta;
}

// The operation against the held fake backends, on a ManualClock, without a
// gateway process or a door.
class ChatStreamOperationTest : public ::testing::Test {
 protected:
  ChatStreamOperationTest()
      : config_(LoadConfigFromYaml("{}").value()),
        services_{config_, routing_, workers_, timers_} {
    call_.deadline = clock_.Now() + absl::Minutes(1);
    request_.set_model("llama3");
    v1::ChatMessage* message = request_.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text("hi");
  }

  std::shared_ptr<ChatStreamOperation> Start() {
    call::CallScope scope{call_, work_, pool_,
                          [] { return std::shared_ptr<void>(); }};
    auto operation =
        std::make_shared<ChatStreamOperation>(services_, scope, output_);
    operation->Start(request_);
    return operation;
  }
  upstream::FakeChatBackend& chat() { return routing_.chat(); }

  ManualClock clock_;
  TimerQueue timers_{clock_};
  WorkerPool workers_{1, 8};
  upstream::FakeRouting routing_;
  Config config_;
  OperationServices services_;
  call::CallContext call_;
  CancelScope work_;
  std::string pool_;
  v1::ChatRequest request_;
  RecordingOutput output_;
};

TEST_F(ChatStreamOperationTest, RelaysDeltasOneWriteAtATimeThenTheLastChunk) {
  auto operation = Start();
  ASSERT_TRUE(chat().streams.WaitFor(1));
  EXPECT_EQ(pool_, "fake-text");
  ASSERT_TRUE(
      chat().EndStream(0, {Delta("Hel"), Delta("lo")}, absl::OkStatus()));
  // The second chunk waits for the first write to complete.
  RecordingOutput::Written first = output_.AwaitWrite(1);
  EXPECT_EQ(first.chunk.delta(), "Hel");
  EXPECT_TRUE(first.first);
  EXPECT_EQ(first.chunk.model(), "fake-model");
  EXPECT_EQ(output_.writes(), 1);
  operation->Written(true);
  EXPECT_EQ(output_.AwaitWrite(2).chunk.delta(), "lo");
  operation->Written(true);
  RecordingOutput::Written last = output_.AwaitWrite(3);
  EXPECT_TRUE(last.last);
  EXPECT_EQ(last.chunk.finish_reason(), v1::FINISH_REASON_STOP);
  operation->Written(true);
  EXPECT_THAT(output_.AwaitEnd(), ::voxgate::testing::IsOk());
  EXPECT_TRUE(output_.sent_any());
}

TEST_F(ChatStreamOperationTest, AnUpstreamErrorBeforeAnyChunkEndsWithIt) {
  auto operation = Start();
  ASSERT_TRUE(chat().streams.WaitFor(1));
  ASSERT_TRUE(chat().EndStream(0, {}, absl::UnavailableError("fake: 503")));
  EXPECT_THAT(output_.AwaitEnd(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("503")));
  EXPECT_FALSE(output_.sent_any());
  EXPECT_EQ(output_.writes(), 0);
}

TEST_F(ChatStreamOperationTest, ACancelStopsTheUpstreamAndEndsWithTheCancel) {
  auto operation = Start();
  ASSERT_TRUE(chat().streams.WaitFor(1));
  // As a door does: call::Call::Cancel cancels the work, then the door
  // tells the operation. Whichever end arrives first names the cancel.
  work_.Cancel();
  operation->Cancel(absl::CancelledError("the caller cancelled the call"));
  EXPECT_THAT(output_.AwaitEnd(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  EXPECT_EQ(chat().streams.cancelled(), 1);
}

// The caller cancels after admission said yes and before the door starts the
// operation: nothing may be left running upstream, and the end names the
// cancel.
TEST_F(ChatStreamOperationTest, ACancelBetweenAdmissionAndStartLeavesNothing) {
  work_.Cancel();
  auto operation = Start();
  EXPECT_THAT(output_.AwaitEnd(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancel")));
  EXPECT_EQ(chat().streams.open(), 0);
  EXPECT_EQ(output_.writes(), 0);
}

TEST_F(ChatStreamOperationTest, AClientGoneMidStreamEndsItCancelled) {
  auto operation = Start();
  ASSERT_TRUE(chat().streams.WaitFor(1));
  ASSERT_TRUE(chat().EndStream(0, {Delta("a"), Delta("b")}, absl::OkStatus()));
  output_.AwaitWrite(1);
  operation->Written(false);  // the write failed: the client went away
  EXPECT_THAT(output_.AwaitEnd(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("went away")));
  EXPECT_EQ(output_.writes(), 1);  // nothing more was written
}

TEST_F(ChatStreamOperationTest, ABadRequestEndsBeforeAnyUpstreamRequest) {
  request_.mutable_messages(0)->set_role(v1::ROLE_UNSPECIFIED);
  auto operation = Start();
  EXPECT_THAT(output_.AwaitEnd(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("role")));
  EXPECT_EQ(chat().streams.size(), 0);
}

}  // namespace
}  // namespace voxgate::operations
