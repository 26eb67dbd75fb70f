#include "upstream/fallback_backend.h"

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "upstream/fake_backends.h"

namespace voxgate::upstream {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::StatusIs;

class FallbackTest : public ::testing::Test {
 protected:
  static ChatRequest Hello() {
    ChatRequest request;
    request.messages.push_back(ChatMessage::Of("user", {ChatPart::Text("hi")}));
    return request;
  }
  static CallOptions Options() {
    CallOptions options;
    options.deadline = absl::Now() + absl::Minutes(5);
    return options;
  }
  // Starts a completion; the result lands in `result`, `done` says when.
  std::shared_ptr<Transfer> Start(const CallOptions& options) {
    return backend_.Complete(Hello(), options,
                             [this](absl::StatusOr<ChatCompletion> completion) {
                               result_ = std::move(completion);
                               done_.Notify();
                             });
  }

  TimerQueue delivery_;
  FakeChatBackend primary_{delivery_};
  FakeChatBackend fallback_{delivery_};
  FallbackChatBackend backend_{primary_, fallback_};
  absl::StatusOr<ChatCompletion> result_ = absl::UnknownError("unanswered");
  absl::Notification done_;
};

TEST_F(FallbackTest, AnUnavailablePoolHandsTheRequestToItsFallback) {
  Start(Options());
  ASSERT_TRUE(primary_.completions.WaitFor(1));
  primary_.Answer(0, absl::UnavailableError("pool a: every endpoint failed"));
  ASSERT_TRUE(fallback_.completions.WaitFor(1));
  EXPECT_EQ(fallback_.completions.Get(0).request.messages[0].parts[0].text,
            "hi");
  ChatCompletion answer;
  answer.content = "from b";
  fallback_.Answer(0, answer);
  done_.WaitForNotification();
  ASSERT_TRUE(result_.ok());
  EXPECT_EQ(result_->content, "from b");
}

TEST_F(FallbackTest, TheRequestsOwnFaultsAndPassedDeadlinesDoNotFallBack) {
  Start(Options());
  ASSERT_TRUE(primary_.completions.WaitFor(1));
  primary_.Answer(0, absl::InvalidArgumentError("bad request"));
  done_.WaitForNotification();
  EXPECT_THAT(result_, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("bad request")));
  EXPECT_EQ(fallback_.completions.size(), 0);

  absl::Notification second;
  CallOptions past = Options();
  past.deadline = absl::Now() - absl::Seconds(1);
  absl::StatusOr<ChatCompletion> late;
  backend_.Complete(Hello(), past, [&](absl::StatusOr<ChatCompletion> r) {
    late = std::move(r);
    second.Notify();
  });
  ASSERT_TRUE(primary_.completions.WaitFor(2));
  primary_.Answer(1, absl::UnavailableError("down"));
  second.WaitForNotification();
  EXPECT_THAT(late,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("down")));
  EXPECT_EQ(fallback_.completions.size(), 0);
}

TEST_F(FallbackTest, ACancelReachesTheFallbackAttempt) {
  std::shared_ptr<Transfer> transfer = Start(Options());
  ASSERT_TRUE(primary_.completions.WaitFor(1));
  primary_.Answer(0, absl::ResourceExhaustedError("full"));
  ASSERT_TRUE(fallback_.completions.WaitFor(1));
  transfer->Cancel();
  done_.WaitForNotification();
  EXPECT_THAT(result_, StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_EQ(fallback_.completions.cancelled(), 1);
}

TEST_F(FallbackTest, AStreamFallsBackOnlyBeforeItsFirstDelta) {
  struct Collect final : ChatStreamObserver {
    bool OnDelta(const ChatDelta& delta) override {
      text += delta.content;
      return true;
    }
    void OnDone(absl::Status s) override {
      status = s;
      done.Notify();
    }
    std::string text;
    absl::Status status;
    absl::Notification done;
  };
  auto early = std::make_shared<Collect>();
  backend_.Stream(Hello(), Options(), early);
  ASSERT_TRUE(primary_.streams.WaitFor(1));
  primary_.EndStream(0, {}, absl::UnavailableError("down"));
  ASSERT_TRUE(fallback_.streams.WaitFor(1));
  ChatDelta delta;
  delta.content = "from b";
  fallback_.EndStream(0, {delta}, absl::OkStatus());
  early->done.WaitForNotification();
  EXPECT_TRUE(early->status.ok());
  EXPECT_EQ(early->text, "from b");

  auto late = std::make_shared<Collect>();
  backend_.Stream(Hello(), Options(), late);
  ASSERT_TRUE(primary_.streams.WaitFor(2));
  delta.content = "half";
  primary_.EndStream(1, {delta}, absl::UnavailableError("cut"));
  late->done.WaitForNotification();
  EXPECT_THAT(late->status,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cut")));
  EXPECT_EQ(late->text, "half");
  EXPECT_EQ(fallback_.streams.size(), 1);
}

}  // namespace
}  // namespace voxgate::upstream
