#include "operations/upload_session.h"

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
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

using UploadOutput =
    RecordingSessionOutput<UploadSession::Output, v1::TranscribeUploadResponse>;

// Three sentences with pauses between them as a FLAC file, about eight
// seconds.
const std::string& ThreeSentencesFlac() {
  static const std::string* const kAudio = [] {
    const std::string pause = testing::SilenceWav(1.5, 16000);
    return new std::string(testing::Transcode(
        testing::ConcatWav(
            {testing::SpeechWav("The first sentence is here."), pause,
             testing::SpeechWav("Then comes the second one."), pause,
             testing::SpeechWav("And this is the last.")}),
        "-c:a flac", "flac"));
  }();
  return *kAudio;
}

class UploadSessionTest : public OperationTest {
 protected:
  UploadSessionTest()
      : session_(
            std::make_shared<UploadSession>(services_, call_, pool_, output_)) {
    upload_config_.mutable_config()->mutable_chunking()->set_max_chunk_seconds(
        3);
  }
  ~UploadSessionTest() override {
    if (feeder_.joinable()) feeder_.join();
  }

  // Configures the session, then sends the file in 16 KiB pieces and ends
  // the input, each step when the session asks for it, as a door does.
  void Feed(const std::string& file) {
    session_->Configure(upload_config_);
    feeder_ = std::thread([this, file] {
      int asked = 1;
      for (std::size_t at = 0; at < file.size(); at += 16384, ++asked) {
        if (!output_.AwaitReady(asked)) return;
        session_->Push(file.substr(at, 16384));
      }
      if (output_.AwaitReady(asked)) session_->EndOfInput();
    });
  }

  UploadOutput output_;
  v1::TranscribeUploadConfig upload_config_;
  std::shared_ptr<UploadSession> session_;
  std::thread feeder_;
};

TEST_F(UploadSessionTest, ChunksCutAsTheFileArrivesAreStitchedInOrder) {
  Feed(ThreeSentencesFlac());
  ASSERT_TRUE(transcription().requests.WaitFor(2));
  ASSERT_TRUE(transcription().Answer(1, Text("chunk1")));
  ASSERT_TRUE(transcription().Answer(0, Text("chunk0")));
  // Answer each later chunk as it comes, until the session ends (the short
  // wait only paces the loop; no result depends on it).
  int answered = 2;
  while (!output_.ended()) {
    if (transcription().requests.WaitFor(answered + 1,
                                         absl::Milliseconds(50))) {
      ASSERT_TRUE(transcription().Answer(
          answered, Text(absl::StrCat("chunk", answered))));
      ++answered;
    }
  }
  EXPECT_THAT(output_.AwaitEnd(), IsOk());
  ASSERT_GE(answered, 3);
  std::string expected = "chunk0";
  for (int i = 1; i < answered; ++i) absl::StrAppend(&expected, " chunk", i);
  const std::vector<v1::TranscribeUploadResponse> responses =
      output_.responses();
  ASSERT_FALSE(responses.empty());
  ASSERT_TRUE(responses.back().has_result());
  EXPECT_EQ(responses.back().result().text(), expected);
  int progress = 0;
  for (const auto& response : responses) progress += response.has_progress();
  EXPECT_GE(progress, 1);
  EXPECT_EQ(pool_, "fake-audio");
  EXPECT_EQ(transcription().requests.Get(0).request.audio.substr(0, 4), "RIFF");
}

TEST_F(UploadSessionTest, AFailureCancelsTheChunksOutAndEndsWithIt) {
  Feed(ThreeSentencesFlac());
  ASSERT_TRUE(transcription().requests.WaitFor(1));
  session_->Fail(absl::CancelledError("the client went away"));
  EXPECT_THAT(output_.AwaitEnd(),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("went away")));
  EXPECT_EQ(transcription().requests.open(), 0);
  EXPECT_GE(transcription().requests.cancelled(), 1);
}

TEST_F(UploadSessionTest, AudioBeforeTheConfigIsRefused) {
  session_->Push("RIFF");
  EXPECT_THAT(
      output_.AwaitEnd(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("config")));
  EXPECT_EQ(transcription().requests.size(), 0);
}

}  // namespace
}  // namespace voxgate::operations
