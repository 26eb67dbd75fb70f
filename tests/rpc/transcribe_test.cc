// Transcribe through the real voxgate process: fan-out and stitching of a
// long recording, error codes and cancellation.

#include <cmath>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/eventually.h"
#include "tests/rpc/rpc_test_fixture.h"

namespace voxgate::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(RpcTest, TranscribeFansATenMinuteRecordingOutAndStitchesInOrder) {
  FakeBehavior chunk_latency;
  chunk_latency.latency = absl::Milliseconds(400);
  audio_->SetDefault(chunk_latency);
  v1::TranscribeRequest request;
  request.mutable_audio()->set_content(LongRecording(10));
  request.mutable_config()->add_output_formats(v1::OUTPUT_FORMAT_SEGMENTS);
  request.mutable_config()->add_output_formats(v1::OUTPUT_FORMAT_SRT);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  v1::TranscribeResponse response;
  grpc::Status status = stub_->Transcribe(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  const std::vector<FakeRequest> chunks =
      audio_->Requests("/v1/audio/transcriptions");
  ASSERT_GE(chunks.size(), 20u);
  EXPECT_GE(audio_->max_in_flight(), 8);
  EXPECT_LE(audio_->max_in_flight(), 8);  // limits.max_chunks_in_flight
  double total = 0;
  for (const FakeRequest& chunk : chunks) {
    ASSERT_EQ(chunk.audio.size(), 1u);
    EXPECT_EQ(chunk.audio[0].format, "wav");
    EXPECT_EQ(chunk.audio[0].sample_rate, 16000);
    EXPECT_EQ(chunk.audio[0].channels, 1);
    EXPECT_LE(chunk.audio[0].duration_seconds, 30.0 + 1e-6);
    EXPECT_EQ(chunk.FormValue("model"), "whisper-1");
    total += chunk.audio[0].duration_seconds;
  }
  EXPECT_NEAR(response.audio_duration().seconds(), 600, 1);
  // Chunks overlap by 0.5 s each.
  EXPECT_NEAR(total, 600 + 0.5 * (chunks.size() - 1), 0.5);
  // Segments come back in order on the recording's timeline, one per chunk
  // here, each carrying the fake's description of exactly the audio it
  // received.
  ASSERT_EQ(response.segments_size(), static_cast<int>(chunks.size()));
  int64_t previous_end = -1;
  for (const v1::Segment& segment : response.segments()) {
    EXPECT_GE(segment.start_offset().seconds(), previous_end);
    previous_end = segment.end_offset().seconds();
    EXPECT_THAT(segment.text(), HasSubstr("frames at 16000 Hz 1 ch"));
  }
  EXPECT_NEAR(previous_end, 600, 1);
  EXPECT_THAT(response.srt(), HasSubstr("00:00:00,000 --> "));
  EXPECT_EQ(response.backend(), "whisper");
  EXPECT_NEAR(response.usage().audio_seconds(), 600, 1);
}

// TranscribeUpload of `audio` in 64 KiB pieces: the result, and every
// progress report in order.

TEST_F(RpcTest, TranscribeErrorsCarryTheDocumentedCodes) {
  auto transcribe = [this](v1::TranscribeRequest request,
                           int deadline_ms = 10000) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(deadline_ms));
    v1::TranscribeResponse response;
    return stub_->Transcribe(&context, request, &response);
  };
  v1::TranscribeRequest empty;
  grpc::Status status = transcribe(empty);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("audio.content"));

  v1::TranscribeRequest garbage;
  garbage.mutable_audio()->set_content(std::string(5000, 'x'));
  status = transcribe(garbage);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("not a supported audio format"));

  v1::TranscribeRequest raw;
  raw.mutable_audio()->set_content(std::string(3200, '\0'));
  raw.mutable_audio()->mutable_format()->set_encoding(
      v1::AUDIO_ENCODING_LINEAR16);
  status = transcribe(raw);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("audio.format.sample_rate_hertz"));

  v1::TranscribeRequest unknown_model;
  unknown_model.mutable_audio()->set_content(SpeechWav("hello"));
  unknown_model.mutable_config()->set_model("nope");
  EXPECT_EQ(transcribe(unknown_model).error_code(),
            grpc::StatusCode::NOT_FOUND);

  FakeBehavior slow;
  slow.latency = absl::Seconds(5);
  audio_->SetDefault(slow);
  v1::TranscribeRequest speech;
  speech.mutable_audio()->set_content(SpeechWav("hello there"));
  const absl::Time start = absl::Now();
  EXPECT_EQ(transcribe(speech, 500).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // The upstream request did not outlive the call.
  EXPECT_TRUE(audio_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return requests.size() == 1 && requests[0].client_closed_early;
      },
      absl::Seconds(5)));
}

// A unary call's cancellation runs on gRPC's thread (the reactions are
// inline): the upstream request closes, and the next call is served.

TEST_F(RpcTest, CancellingATranscribeClosesEveryUpstreamRequest) {
  FakeBehavior slow;
  slow.latency = absl::Seconds(20);
  audio_->SetDefault(slow);
  v1::TranscribeRequest request;
  request.mutable_audio()->set_content(LongRecording(3));
  grpc::ClientContext context;
  v1::TranscribeResponse response;
  std::thread canceller([&] {
    EXPECT_TRUE(Eventually([&] { return audio_->in_flight() >= 6; }));
    context.TryCancel();
  });
  grpc::Status status = stub_->Transcribe(&context, request, &response);
  canceller.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(audio_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        if (requests.size() < 6) return false;
        for (const FakeRequest& r : requests) {
          if (!r.client_closed_early) return false;
        }
        return true;
      },
      absl::Seconds(5)));
  EXPECT_TRUE(Eventually([&] { return audio_->in_flight() == 0; }));
}

}  // namespace
}  // namespace voxgate::testing
