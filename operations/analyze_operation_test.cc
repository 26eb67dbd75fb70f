#include "operations/analyze_operation.h"

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

class AnalyzeOperationTest : public OperationTest {
 protected:
  AnalyzeOperationTest() {
    request_.mutable_audio()->set_content(testing::Transcode(
        testing::ToneWav(440, 1.0, 16000, 1), "-c:a libopus", "ogg"));
    request_.set_instruction("Summarise this.");
    request_.set_model("voxtral");
  }

  void Start() {
    operation_.emplace(services_, Scope());
    operation_->Start(request_, outcome_.Callback());
  }

  static upstream::ChatCompletion Said(const std::string& content) {
    upstream::ChatCompletion completion;
    completion.content = content;
    return completion;
  }
  // The text of every part of the last message of a chat request.
  static std::string UserText(const upstream::ChatRequest& request) {
    std::string text;
    for (const upstream::ChatPart& part : request.messages.back().parts) {
      if (part.kind == upstream::ChatPart::Kind::kText) text += part.text;
    }
    return text;
  }

  v1::AnalyzeRequest request_;
  std::optional<AnalyzeOperation> operation_;
  Outcome<v1::AnalyzeResponse> outcome_;
};

TEST_F(AnalyzeOperationTest, DirectSendsTheAudioAsWavWithTheInstruction) {
  request_.set_mode(v1::ANALYZE_MODE_DIRECT);
  Start();
  ASSERT_TRUE(audio_chat().completions.WaitFor(1));
  const upstream::ChatRequest sent = audio_chat().completions.Get(0).request;
  EXPECT_THAT(UserText(sent), HasSubstr("Summarise this."));
  bool has_wav = false;
  for (const upstream::ChatPart& part : sent.messages.back().parts) {
    has_wav |= part.kind == upstream::ChatPart::Kind::kAudio &&
               part.audio_format == "wav" && part.audio.substr(0, 4) == "RIFF";
  }
  EXPECT_TRUE(has_wav);
  EXPECT_EQ(transcription().requests.size(), 0);
  ASSERT_TRUE(audio_chat().Answer(0, Said("a tone")));
  absl::StatusOr<v1::AnalyzeResponse> response = outcome_.Await();
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->answer(), "a tone");
  EXPECT_EQ(response->mode(), v1::ANALYZE_MODE_DIRECT);
  EXPECT_EQ(response->request_id(), "test-request");
}

TEST_F(AnalyzeOperationTest, CascadeTranscribesThenAsksTheTextModel) {
  request_.set_mode(v1::ANALYZE_MODE_CASCADE);
  request_.set_model("llama3");
  Start();
  ASSERT_TRUE(transcription().requests.WaitFor(1));
  EXPECT_EQ(chat().completions.size(), 0);  // not before the transcript
  upstream::Transcription transcript;
  transcript.text = "meeting at noon";
  ASSERT_TRUE(transcription().Answer(0, transcript));
  ASSERT_TRUE(chat().completions.WaitFor(1));
  const std::string asked = UserText(chat().completions.Get(0).request);
  EXPECT_THAT(asked, HasSubstr("Summarise this."));
  EXPECT_THAT(asked, HasSubstr("meeting at noon"));
  ASSERT_TRUE(chat().Answer(0, Said("lunch")));
  absl::StatusOr<v1::AnalyzeResponse> response = outcome_.Await();
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->answer(), "lunch");
  EXPECT_EQ(response->transcript(), "meeting at noon");
  EXPECT_EQ(response->mode(), v1::ANALYZE_MODE_CASCADE);
}

TEST_F(AnalyzeOperationTest, AFailedTranscriptionEndsItWithNoChatRequest) {
  request_.set_mode(v1::ANALYZE_MODE_CASCADE);
  Start();
  ASSERT_TRUE(transcription().requests.WaitFor(1));
  ASSERT_TRUE(transcription().Answer(0, absl::UnavailableError("fake: 503")));
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("503")));
  EXPECT_EQ(chat().completions.size(), 0);
  EXPECT_EQ(audio_chat().completions.size(), 0);
}

TEST_F(AnalyzeOperationTest, ACancelDuringTheAnswerClosesItsRequest) {
  request_.set_mode(v1::ANALYZE_MODE_DIRECT);
  Start();
  ASSERT_TRUE(audio_chat().completions.WaitFor(1));
  work_.Cancel();
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancel")));
  EXPECT_EQ(audio_chat().completions.cancelled(), 1);
}

TEST_F(AnalyzeOperationTest, AMissingInstructionNamesTheField) {
  request_.clear_instruction();
  Start();
  EXPECT_THAT(
      outcome_.Await().status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("instruction")));
  EXPECT_EQ(transcription().requests.size() + audio_chat().completions.size(),
            0);
}

}  // namespace
}  // namespace voxgate::operations
