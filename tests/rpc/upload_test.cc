// TranscribeUpload through the real voxgate process: chunks cut as the file
// arrives, and cancellation.

#include <cmath>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/rpc/rpc_test_fixture.h"

namespace voxgate::testing {
namespace {

using ::testing::HasSubstr;

// TranscribeUpload of `audio` in 64 KiB pieces: the result, and every
// progress report in order.
struct UploadOutcome {
  grpc::Status status;
  v1::TranscribeResponse result;
  std::vector<v1::UploadProgress> progress;
};

UploadOutcome Upload(v1::VoxgateService::Stub& stub, const std::string& audio,
                     grpc::ClientContext& context) {
  UploadOutcome outcome;
  auto stream = stub.TranscribeUpload(&context);
  std::thread writer([&] {
    v1::TranscribeUploadRequest config;
    config.mutable_config()->mutable_config()->add_output_formats(
        v1::OUTPUT_FORMAT_SEGMENTS);
    config.mutable_config()->set_total_bytes(audio.size());
    bool writing = stream->Write(config);
    for (std::size_t at = 0; writing && at < audio.size(); at += 65536) {
      v1::TranscribeUploadRequest piece;
      piece.set_audio_content(audio.substr(at, 65536));
      writing = stream->Write(piece);
    }
    stream->WritesDone();
  });
  v1::TranscribeUploadResponse response;
  while (stream->Read(&response)) {
    if (response.has_progress())
      outcome.progress.push_back(response.progress());
    if (response.has_result()) outcome.result = response.result();
  }
  writer.join();
  outcome.status = stream->Finish();
  return outcome;
}

TEST_F(RpcTest, TranscribeUploadCutsChunksAsTheFileArrives) {
  FakeBehavior chunk_latency;
  chunk_latency.latency = absl::Milliseconds(200);
  audio_->SetDefault(chunk_latency);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  const UploadOutcome outcome = Upload(*stub_, LongRecording(10), context);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();

  const std::vector<FakeRequest> chunks =
      audio_->Requests("/v1/audio/transcriptions");
  ASSERT_GE(chunks.size(), 20u);
  EXPECT_LE(audio_->max_in_flight(), 8);  // limits.max_chunks_in_flight
  double total = 0;
  for (const FakeRequest& chunk : chunks) {
    ASSERT_EQ(chunk.audio.size(), 1u);
    EXPECT_EQ(chunk.audio[0].sample_rate, 16000);
    EXPECT_LE(chunk.audio[0].duration_seconds, 30.0 + 1e-6);
    total += chunk.audio[0].duration_seconds;
  }
  EXPECT_NEAR(total, 600 + 0.5 * (chunks.size() - 1), 0.5);
  const v1::TranscribeResponse& result = outcome.result;
  EXPECT_NEAR(result.audio_duration().seconds(), 600, 1);
  ASSERT_EQ(result.segments_size(), static_cast<int>(chunks.size()));
  int64_t previous_end = -1;
  for (const v1::Segment& segment : result.segments()) {
    EXPECT_GE(segment.start_offset().seconds(), previous_end);
    previous_end = segment.end_offset().seconds();
    EXPECT_THAT(segment.text(), HasSubstr("frames at 16000 Hz 1 ch"));
  }
  EXPECT_EQ(result.backend(), "whisper");
  // Progress only grows, and ends with every chunk answered.
  ASSERT_FALSE(outcome.progress.empty());
  for (std::size_t i = 1; i < outcome.progress.size(); ++i) {
    EXPECT_GE(outcome.progress[i].chunks_done(),
              outcome.progress[i - 1].chunks_done());
    EXPECT_GE(outcome.progress[i].bytes_received(),
              outcome.progress[i - 1].bytes_received());
  }
  EXPECT_EQ(outcome.progress.back().chunks_done(),
            static_cast<int>(chunks.size()));
  EXPECT_EQ(outcome.progress.back().chunks_cut(),
            static_cast<int>(chunks.size()));
}

TEST_F(RpcTest, CancellingAnUploadClosesEveryUpstreamRequest) {
  FakeBehavior slow;
  slow.latency = absl::Seconds(30);
  audio_->SetDefault(slow);
  grpc::ClientContext context;
  UploadOutcome outcome;
  std::thread upload(
      [&] { outcome = Upload(*stub_, LongRecording(10), context); });
  // The upload stalls with eight chunks upstream (and a few waiting): the
  // gateway stops reading.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (audio_->in_flight() < 8 && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(audio_->in_flight(), 8);
  context.TryCancel();  // (before any ASSERT: the upload thread must end)
  upload.join();
  EXPECT_EQ(outcome.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(audio_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        for (const FakeRequest& request : requests) {
          if (!request.client_closed_early) return false;
        }
        return requests.size() == 8;
      },
      absl::Seconds(10)));
  grpc::ClientContext chat_context;
  v1::ChatResponse chat;
  EXPECT_TRUE(stub_->Chat(&chat_context, Hello(), &chat).ok());
}

}  // namespace
}  // namespace voxgate::testing
