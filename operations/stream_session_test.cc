#include "operations/stream_session.h"

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "call/call_metrics.h"
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

using StreamOutput =
    RecordingSessionOutput<StreamSession::Output, v1::StreamTranscribeResponse>;

// Three sentences with pauses, as 16 kHz s16le PCM.
const std::string& ThreeSentencesPcm() {
  static const std::string* const kPcm = [] {
    const std::string pause = testing::SilenceWav(1.2, 16000);
    return new std::string(
        testing::ConcatWav({testing::SilenceWav(0.5, 16000),
                            testing::SpeechWav("Please call Stella."), pause,
                            testing::SpeechWav("Ask her to bring these."),
                            pause, testing::SpeechWav("We need a snake."),
                            pause})
            .substr(44));
  }();
  return *kPcm;
}

class StreamSessionTest : public OperationTest {
 protected:
  StreamSessionTest()
      : session_(std::make_shared<StreamSession>(config_, routing_, workers_,
                                                 metrics_, call_, output_)) {
    v1::AudioFormat* format = stream_config_.mutable_format();
    format->set_encoding(v1::AUDIO_ENCODING_LINEAR16);
    format->set_sample_rate_hertz(16000);
    format->set_channel_count(1);
  }
  ~StreamSessionTest() override {
    if (feeder_.joinable()) feeder_.join();
  }

  // Configures the session, then feeds `pcm` in 100 ms pieces and ends the
  // input, each step when the session asks for it, as a door does.
  void Feed(const std::string& pcm) {
    session_->Configure(stream_config_);
    feeder_ = std::thread([this, pcm] {
      int asked = 1;
      for (std::size_t at = 0; at < pcm.size(); at += 3200, ++asked) {
        if (!output_.AwaitReady(asked)) return;
        session_->Push(pcm.substr(at, 3200), false);
      }
      if (output_.AwaitReady(asked)) session_->EndOfInput();
    });
  }

  call::CallMetrics metrics_;
  StreamOutput output_;
  v1::StreamTranscribeConfig stream_config_;
  std::shared_ptr<StreamSession> session_;
  std::thread feeder_;
};

TEST_F(StreamSessionTest, UtterancesAnsweredOutOfOrderComeOutInOrder) {
  Feed(ThreeSentencesPcm());
  // Each utterance goes upstream as it ends; all three can be out at once.
  ASSERT_TRUE(transcription().requests.WaitFor(3));
  ASSERT_TRUE(transcription().Answer(2, Text("third")));
  ASSERT_TRUE(transcription().Answer(0, Text("first")));
  ASSERT_TRUE(transcription().Answer(1, Text("second")));
  EXPECT_THAT(output_.AwaitEnd(), IsOk());
  std::vector<v1::StreamResult> results;
  for (const v1::StreamTranscribeResponse& response : output_.responses()) {
    if (response.has_result()) results.push_back(response.result());
  }
  ASSERT_EQ(results.size(), 3u);
  const char* const kTexts[] = {"first", "second", "third"};
  double previous_end = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results[i].text(), kTexts[i]);
    EXPECT_EQ(results[i].utterance_index(), i);
    EXPECT_TRUE(results[i].is_final());
    const double start = results[i].start_offset().seconds() +
                         results[i].start_offset().nanos() / 1e9;
    EXPECT_GE(start, previous_end) << i;  // on the stream's timeline
    previous_end = results[i].end_offset().seconds() +
                   results[i].end_offset().nanos() / 1e9;
  }
  EXPECT_EQ(transcription().requests.size(), 3);
  EXPECT_NEAR(call_.audio_seconds, ThreeSentencesPcm().size() / 32000.0, 0.1);
}

TEST_F(StreamSessionTest, AFailureCancelsTheRequestsOutAndEndsWithIt) {
  Feed(ThreeSentencesPcm());
  ASSERT_TRUE(transcription().requests.WaitFor(1));
  session_->Fail(absl::CancelledError("the client went away"));
  EXPECT_THAT(output_.AwaitEnd(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("went away")));
  // OnEnd comes only when no backend request of the session is left.
  EXPECT_EQ(transcription().requests.open(), 0);
  EXPECT_GE(transcription().requests.cancelled(), 1);
}

TEST_F(StreamSessionTest, ABadSampleRateNamesTheField) {
  stream_config_.mutable_format()->set_sample_rate_hertz(3);
  session_->Configure(stream_config_);
  EXPECT_THAT(output_.AwaitEnd(), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("sample_rate_hertz")));
  EXPECT_EQ(transcription().requests.size(), 0);
}

}  // namespace
}  // namespace voxgate::operations
