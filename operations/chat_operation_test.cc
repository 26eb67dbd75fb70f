#include "operations/chat_operation.h"

#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operations/operation_test_base.h"
#include "tests/audio_fixtures.h"

namespace voxgate::operations {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

class ChatOperationTest : public OperationTest {
 protected:
  ChatOperationTest() {
    request_.set_model("llama3");
    v1::ChatMessage* message = request_.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text("hi");
  }

  void Start() {
    operation_.emplace(services_, Scope());
    operation_->Start(request_, outcome_.Callback());
  }

  v1::ChatRequest request_;
  std::optional<ChatOperation> operation_;
  Outcome<v1::ChatResponse> outcome_;
};

TEST_F(ChatOperationTest, SendsTheConversationAndAnswersWithTheCompletion) {
  Start();
  ASSERT_TRUE(chat().completions.WaitFor(1));
  const upstream::ChatRequest sent = chat().completions.Get(0).request;
  ASSERT_EQ(sent.messages.size(), 1u);
  EXPECT_EQ(sent.messages[0].role, "user");
  EXPECT_EQ(sent.messages[0].parts[0].text, "hi");
  upstream::ChatCompletion completion;
  completion.content = "hello";
  completion.finish_reason = "stop";
  completion.model = "llama3-8b";
  completion.usage.input_tokens = 3;
  completion.usage.output_tokens = 1;
  ASSERT_TRUE(chat().Answer(0, completion));
  absl::StatusOr<v1::ChatResponse> response = outcome_.Await();
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->content(), "hello");
  EXPECT_EQ(response->finish_reason(), v1::FINISH_REASON_STOP);
  EXPECT_EQ(response->model(), "llama3-8b");
  EXPECT_EQ(response->request_id(), "test-request");
  EXPECT_EQ(response->usage().input_tokens(), 3);
  EXPECT_EQ(pool_, "fake-text");
  EXPECT_EQ(call_.prompt_tokens, 3);  // booked for quotas and the log line
  EXPECT_EQ(call_.completion_tokens, 1);
  EXPECT_EQ(outcome_.calls(), 1);
}

TEST_F(ChatOperationTest, AnUpstreamErrorIsTheAnswer) {
  Start();
  ASSERT_TRUE(chat().completions.WaitFor(1));
  ASSERT_TRUE(chat().Answer(0, absl::UnavailableError("fake: 503")));
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("503")));
}

TEST_F(ChatOperationTest, ACancelClosesTheUpstreamRequestAndEndsCancelled) {
  Start();
  ASSERT_TRUE(chat().completions.WaitFor(1));
  work_.Cancel();  // as call::Call::Cancel does for a door
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancel")));
  EXPECT_EQ(chat().completions.cancelled(), 1);
  EXPECT_EQ(outcome_.calls(), 1);
}

// The caller cancels after admission and before the door starts the
// operation: whatever started upstream is cancelled, and the answer is the
// cancel.
TEST_F(ChatOperationTest, ACancelBetweenAdmissionAndStartLeavesNothing) {
  work_.Cancel();
  Start();
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancel")));
  EXPECT_EQ(chat().completions.open(), 0);
  EXPECT_EQ(chat().completions.size(), chat().completions.cancelled());
}

TEST_F(ChatOperationTest, ABadFieldIsRefusedBeforeAnyUpstreamRequest) {
  request_.mutable_messages(0)->set_role(v1::ROLE_UNSPECIFIED);
  Start();
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("messages[0].role")));
  EXPECT_EQ(chat().completions.size(), 0);
}

TEST_F(ChatOperationTest, AFlacPartGoesToTheAudioPoolAsSixteenKilohertzWav) {
  v1::ContentPart* audio = request_.mutable_messages(0)->add_content();
  audio->mutable_audio()->set_content(testing::Transcode(
      testing::ToneWav(440, 1.0, 44100, 1), "-c:a flac", "flac"));
  Start();
  ASSERT_TRUE(audio_chat().completions.WaitFor(1));
  const upstream::ChatRequest sent = audio_chat().completions.Get(0).request;
  ASSERT_EQ(sent.messages[0].parts.size(), 2u);
  const upstream::ChatPart& part = sent.messages[0].parts[1];
  EXPECT_EQ(part.audio_format, "wav");
  ASSERT_GT(part.audio.size(), 44u);
  EXPECT_EQ(part.audio.substr(0, 4), "RIFF");
  // The fmt chunk's sample rate, little-endian, at byte 24.
  const auto* header =
      reinterpret_cast<const unsigned char*>(part.audio.data());
  EXPECT_EQ(header[24] | header[25] << 8 | header[26] << 16, 16000);
  EXPECT_NEAR(call_.audio_seconds, 1.0, 0.05);  // what quotas are charged
  upstream::ChatCompletion tone;
  tone.content = "a tone";
  ASSERT_TRUE(audio_chat().Answer(0, tone));
  EXPECT_EQ(outcome_.Await()->content(), "a tone");
  EXPECT_EQ(pool_, "fake-audio");
}

}  // namespace
}  // namespace voxgate::operations
