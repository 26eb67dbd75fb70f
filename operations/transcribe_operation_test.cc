#include "operations/transcribe_operation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operations/operation_test_base.h"
#include "tests/audio_fixtures.h"
#include "tests/eventually.h"

namespace voxgate::operations {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

// Three sentences with pauses between them, about eight seconds.
const std::string& ThreeSentences() {
  static const std::string* const kAudio = [] {
    const std::string pause = testing::SilenceWav(1.5, 16000);
    return new std::string(testing::ConcatWav(
        {testing::SpeechWav("The first sentence is here."), pause,
         testing::SpeechWav("Then comes the second one."), pause,
         testing::SpeechWav("And this is the last.")}));
  }();
  return *kAudio;
}

class TranscribeOperationTest : public OperationTest {
 protected:
  TranscribeOperationTest() {
    request_.mutable_audio()->set_content(ThreeSentences());
    request_.mutable_config()->mutable_chunking()->set_max_chunk_seconds(3);
  }

  void Start() {
    StartTranscribe(services_, request_, Scope(), outcome_.Callback());
  }

  v1::TranscribeRequest request_;
  Outcome<v1::TranscribeResponse> outcome_;
};

TEST_F(TranscribeOperationTest, ChunksAnsweredOutOfOrderAreStitchedInOrder) {
  Start();
  // The later chunks may still be decoding: answer the first two out of
  // order now, the rest as they come.
  ASSERT_TRUE(transcription().requests.WaitFor(2));
  EXPECT_EQ(transcription().requests.Get(0).request.audio.substr(0, 4), "RIFF");
  ASSERT_TRUE(transcription().Answer(1, Text("chunk1")));
  ASSERT_TRUE(transcription().Answer(0, Text("chunk0")));
  // Answer each later chunk as it comes, until the operation answers (the
  // short wait only paces the loop; no result depends on it).
  int answered = 2;
  while (!outcome_.ready()) {
    if (transcription().requests.WaitFor(answered + 1,
                                         absl::Milliseconds(50))) {
      ASSERT_TRUE(transcription().Answer(
          answered, Text(absl::StrCat("chunk", answered))));
      ++answered;
    }
  }
  absl::StatusOr<v1::TranscribeResponse> response = outcome_.Await();
  ASSERT_THAT(response.status(), IsOk());
  ASSERT_GE(answered, 3);  // eight seconds in chunks of at most three
  std::string expected = "chunk0";
  for (int i = 1; i < answered; ++i) absl::StrAppend(&expected, " chunk", i);
  EXPECT_EQ(response->text(), expected);
  EXPECT_EQ(pool_, "fake-audio");
  EXPECT_EQ(call_.chunks, answered);
  EXPECT_NEAR(call_.audio_seconds,
              response->audio_duration().seconds() +
                  response->audio_duration().nanos() / 1e9,
              0.01);
}

TEST_F(TranscribeOperationTest, AFailedChunkFailsTheCallAndCancelsTheOthers) {
  Start();
  ASSERT_TRUE(transcription().requests.WaitFor(2));
  ASSERT_TRUE(transcription().Answer(0, absl::UnavailableError("fake: 503")));
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("503")));
  // A chunk whose request was starting as the failure came is cancelled as
  // soon as its start returns, which may be just after the answer.
  EXPECT_TRUE(voxgate::testing::Eventually(
      [&] { return transcription().requests.open() == 0; }));
  EXPECT_EQ(transcription().requests.cancelled(),
            transcription().requests.size() - 1);
}

TEST_F(TranscribeOperationTest, ACancelClosesEveryUpstreamRequest) {
  Start();
  ASSERT_TRUE(transcription().requests.WaitFor(2));
  work_.Cancel();
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancel")));
  EXPECT_TRUE(voxgate::testing::Eventually(
      [&] { return transcription().requests.open() == 0; }));
  // None was answered: every request sent was cancelled.
  EXPECT_EQ(transcription().requests.cancelled(),
            transcription().requests.size());
}

TEST_F(TranscribeOperationTest, ADeadlinePassedOnTheCallsClockSendsNothing) {
  call_.deadline = clock_.Now() + absl::Seconds(1);
  clock_.Advance(absl::Seconds(2));  // real time has not moved
  Start();
  EXPECT_THAT(
      outcome_.Await().status(),
      StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("deadline")));
  EXPECT_EQ(transcription().requests.size(), 0);
}

TEST_F(TranscribeOperationTest, NoAudioNamesTheField) {
  request_.clear_audio();
  Start();
  EXPECT_THAT(outcome_.Await().status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("audio")));
  EXPECT_EQ(transcription().requests.size(), 0);
}

}  // namespace
}  // namespace voxgate::operations
