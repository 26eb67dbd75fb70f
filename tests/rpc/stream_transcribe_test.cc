// StreamTranscribe through the real voxgate process: utterances, interim
// results, encodings, protocol errors, idle timeout, the stream limit and
// cancellation.

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

using ::testing::Contains;
using ::testing::HasSubstr;

struct SpokenStream {
  std::string wav;
  std::string pcm;  // s16le
  std::vector<std::pair<double, double>> speech;
};

SpokenStream ThreeSentences() {
  const std::string pause = SilenceWav(1.2, 16000);
  const std::string wav =
      ConcatWav({SilenceWav(0.5, 16000), SpeechWav("Please call Stella."),
                 pause, SpeechWav("Ask her to bring these things."), pause,
                 SpeechWav("We also need a snake."), pause});
  SpokenStream stream;
  stream.wav = wav;
  stream.pcm = wav.substr(44);
  // Loud 10 ms frames grouped with gaps under 400 ms.
  int64_t last_loud = -1000;
  for (std::size_t frame = 0; frame * 320 < stream.pcm.size(); ++frame) {
    double energy = 0;
    for (std::size_t i = frame * 320;
         i + 1 < std::min(stream.pcm.size(), (frame + 1) * 320); i += 2) {
      const int16_t sample =
          static_cast<int16_t>(static_cast<uint8_t>(stream.pcm[i]) |
                               (static_cast<uint8_t>(stream.pcm[i + 1]) << 8));
      energy += static_cast<double>(sample) * sample;
    }
    if (10 * std::log10(energy / 160 / (32768.0 * 32768.0) + 1e-12) < -45)
      continue;
    if (static_cast<int64_t>(frame) - last_loud > 40)
      stream.speech.push_back({frame * 0.01, 0});
    stream.speech.back().second = (frame + 1) * 0.01;
    last_loud = static_cast<int64_t>(frame);
  }
  return stream;
}

v1::StreamTranscribeRequest StreamConfig(v1::AudioEncoding encoding, int rate) {
  v1::StreamTranscribeRequest request;
  v1::StreamTranscribeConfig* config = request.mutable_config();
  config->mutable_format()->set_encoding(encoding);
  config->mutable_format()->set_sample_rate_hertz(rate);
  config->mutable_format()->set_channel_count(1);
  config->set_enable_speech_events(true);
  return request;
}

TEST_F(RpcTest, StreamTranscribeFindsUtterancesAndAnswersInOrder) {
  const SpokenStream spoken = ThreeSentences();
  ASSERT_EQ(spoken.speech.size(), 3u);
  grpc::ClientContext context;
  auto stream = stub_->StreamTranscribe(&context);
  ASSERT_TRUE(stream->Write(StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 16000)));
  for (std::size_t at = 0; at < spoken.pcm.size();
       at += 3200) {  // 100 ms pieces
    v1::StreamTranscribeRequest audio;
    audio.set_audio(spoken.pcm.substr(at, 3200));
    ASSERT_TRUE(stream->Write(audio));
  }
  stream->WritesDone();
  std::vector<v1::StreamTranscribeResponse> responses;
  v1::StreamTranscribeResponse response;
  while (stream->Read(&response)) responses.push_back(response);
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();

  std::vector<v1::StreamResult> results;
  int begins = 0;
  for (const auto& r : responses) {
    if (r.has_result()) results.push_back(r.result());
    begins += r.event().type() == v1::SpeechEvent::TYPE_SPEECH_BEGIN;
  }
  EXPECT_FALSE(responses.front().request_id().empty());
  EXPECT_EQ(begins, 3);
  ASSERT_EQ(results.size(), 3u);
  const std::vector<FakeRequest> sent =
      audio_->Requests("/v1/audio/transcriptions");
  ASSERT_EQ(sent.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results[i].utterance_index(), i);
    EXPECT_TRUE(results[i].is_final());
    const double start = results[i].start_offset().seconds() +
                         results[i].start_offset().nanos() / 1e9;
    const double end = results[i].end_offset().seconds() +
                       results[i].end_offset().nanos() / 1e9;
    // Boundaries fall in the pauses: the speech is inside, within the pre-roll
    // (0.2 s) and half the trailing silence (0.3 s), each to 100 ms.
    EXPECT_NEAR(start, spoken.speech[i].first - 0.2, 0.1) << i;
    EXPECT_NEAR(end, spoken.speech[i].second + 0.3, 0.1) << i;
    // The utterances go upstream concurrently, so they may arrive in any
    // order; each result names the audio it was made from (the fake describes
    // what it received), and that audio is 16 kHz mono of the result's length.
    const FakeRequest* source = nullptr;
    for (const FakeRequest& request : sent) {
      if (absl::StrContains(
              results[i].text(),
              absl::StrCat("audio ", request.audio.at(0).frames, " frames"))) {
        source = &request;
      }
    }
    ASSERT_NE(source, nullptr) << results[i].text();
    EXPECT_EQ(source->audio.at(0).sample_rate, 16000);
    EXPECT_NEAR(source->audio.at(0).duration_seconds, end - start, 0.01) << i;
  }
}

TEST_F(RpcTest, StreamTranscribeSendsInterimResultsBeforeTheFinalOne) {
  const SpokenStream spoken = ThreeSentences();
  grpc::ClientContext context;
  auto stream = stub_->StreamTranscribe(&context);
  v1::StreamTranscribeRequest config =
      StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 16000);
  config.mutable_config()->set_interim_results(true);
  config.mutable_config()->mutable_interim_interval()->set_nanos(500000000);
  ASSERT_TRUE(stream->Write(config));
  std::thread reader_thread;
  std::vector<v1::StreamResult> results;
  reader_thread = std::thread([&] {
    v1::StreamTranscribeResponse response;
    while (stream->Read(&response)) {
      if (response.has_result()) results.push_back(response.result());
    }
  });
  for (std::size_t at = 0; at < spoken.pcm.size(); at += 3200) {
    v1::StreamTranscribeRequest audio;
    audio.set_audio(spoken.pcm.substr(at, 3200));
    ASSERT_TRUE(stream->Write(audio));
    absl::SleepFor(absl::Milliseconds(25));  // four times real time
  }
  stream->WritesDone();
  reader_thread.join();
  ASSERT_TRUE(stream->Finish().ok());
  int interims = 0;
  for (int utterance = 0; utterance < 3; ++utterance) {
    int first_interim = -1, final_at = -1;
    for (int i = 0; i < static_cast<int>(results.size()); ++i) {
      if (results[i].utterance_index() != utterance) continue;
      if (!results[i].is_final() && first_interim < 0) first_interim = i;
      if (results[i].is_final()) final_at = i;
    }
    ASSERT_GE(final_at, 0) << utterance;
    if (first_interim >= 0) {
      ++interims;
      EXPECT_LT(first_interim, final_at) << utterance;
    }
  }
  EXPECT_GE(interims, 2);
}

TEST_F(RpcTest, StreamTranscribeTakesMulawAtEightKilohertz) {
  const SpokenStream spoken = ThreeSentences();
  const std::string path = TempPath("s.raw");
  WriteBytes(path, spoken.pcm);
  const std::string out = TempPath("s.ulaw");
  ASSERT_TRUE(RunCommand("sox -t raw -r 16000 -e signed -b 16 -c 1 " + path +
                         " -t raw -r 8000 -e mu-law -b 8 -c 1 " + out));
  const std::string mulaw = ReadBytes(out);
  grpc::ClientContext context;
  auto stream = stub_->StreamTranscribe(&context);
  ASSERT_TRUE(stream->Write(StreamConfig(v1::AUDIO_ENCODING_MULAW, 8000)));
  for (std::size_t at = 0; at < mulaw.size(); at += 800) {
    v1::StreamTranscribeRequest audio;
    audio.set_audio(mulaw.substr(at, 800));
    ASSERT_TRUE(stream->Write(audio));
  }
  stream->WritesDone();
  int finals = 0;
  v1::StreamTranscribeResponse response;
  while (stream->Read(&response)) finals += response.result().is_final();
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(finals, 3);
}

TEST_F(RpcTest, StreamTranscribeProtocolErrorsHaveTheirCodes) {
  auto run = [this](const std::vector<v1::StreamTranscribeRequest>& messages) {
    grpc::ClientContext context;
    auto stream = stub_->StreamTranscribe(&context);
    for (const auto& message : messages) {
      if (!stream->Write(message)) break;
    }
    stream->WritesDone();
    v1::StreamTranscribeResponse response;
    while (stream->Read(&response)) {
    }
    return stream->Finish();
  };
  v1::StreamTranscribeRequest audio;
  audio.set_audio(std::string(3200, '\0'));
  grpc::Status status = run({audio});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(),
              HasSubstr("first message must be a config"));

  const v1::StreamTranscribeRequest config =
      StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 16000);
  status = run({config, config});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("sent twice"));

  status = run({StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 0)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("sample_rate_hertz"));

  status = run({StreamConfig(v1::AUDIO_ENCODING_M4A_AAC, 48000)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("config.format.encoding: AUDIO_ENCODING_M4A_AAC "
                        "cannot be streamed"));

  // Undecodable audio: not the container the config declared.
  v1::StreamTranscribeRequest garbage;
  garbage.set_audio(std::string(6000, 'x'));
  status = run({StreamConfig(v1::AUDIO_ENCODING_WEBM_OPUS, 0), garbage});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not a matroska stream"));

  // A wrong sample format: 8-bit samples in a WAV stream.
  v1::StreamTranscribeRequest eight_bit;
  eight_bit.set_audio(Transcode(SilenceWav(0.5, 16000), "-c:a pcm_u8", "wav"));
  status = run({StreamConfig(v1::AUDIO_ENCODING_WAV, 0), eight_bit});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("16-bit PCM"));
}

TEST_F(RpcTest, StreamTranscribeTakesWebmOpusAsMediaRecorderSendsIt) {
  const SpokenStream spoken = ThreeSentences();
  // What Chrome's MediaRecorder produces: Opus at 48 kHz in WebM, clusters
  // every 100 ms, sent in pieces that cut through clusters.
  const std::string webm =
      Transcode(spoken.wav,
                "-ar 48000 -ac 2 -c:a libopus -cluster_time_limit 100", "webm");
  grpc::ClientContext context;
  auto stream = stub_->StreamTranscribe(&context);
  ASSERT_TRUE(stream->Write(StreamConfig(v1::AUDIO_ENCODING_WEBM_OPUS, 0)));
  for (std::size_t at = 0; at < webm.size(); at += 1000) {
    v1::StreamTranscribeRequest audio;
    audio.set_audio(webm.substr(at, 1000));
    ASSERT_TRUE(stream->Write(audio));
  }
  stream->WritesDone();
  std::vector<v1::StreamResult> results;
  v1::StreamTranscribeResponse response;
  while (stream->Read(&response)) {
    if (response.result().is_final()) results.push_back(response.result());
  }
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(results.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const double start = results[i].start_offset().seconds() +
                         results[i].start_offset().nanos() / 1e9;
    const double end = results[i].end_offset().seconds() +
                       results[i].end_offset().nanos() / 1e9;
    EXPECT_NEAR(start, spoken.speech[i].first - 0.2, 0.1) << i;
    EXPECT_NEAR(end, spoken.speech[i].second + 0.3, 0.1) << i;
  }
}

TEST_F(RpcTest, AnIdleStreamEndsWithDeadlineExceeded) {
  grpc::ClientContext context;
  auto stream = stub_->StreamTranscribe(&context);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(stream->Write(StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 16000)));
  v1::StreamTranscribeRequest audio;
  audio.set_audio(std::string(3200, '\0'));
  ASSERT_TRUE(stream->Write(audio));
  // Then nothing: the client neither sends nor half-closes.
  v1::StreamTranscribeResponse response;
  while (stream->Read(&response)) {
  }
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("limits.stream_idle_timeout"));
  EXPECT_GE(absl::Now() - start, absl::Seconds(2));
}

TEST_F(RpcTest, StreamsBeyondMaxStreamsAreRefusedAndTheOthersGoOn) {
  // Streams of earlier tests have told their clients how they ended, so they
  // no longer hold a slot.
  ASSERT_TRUE(StreamsActiveBecomes(0));
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<
      v1::StreamTranscribeRequest, v1::StreamTranscribeResponse>>>
      streams;
  for (int i = 0; i < 6; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stub_->StreamTranscribe(contexts.back().get()));
    ASSERT_TRUE(streams.back()->Write(
        StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 16000)));
  }
  // The six hold their slots (the gateway's gauge says so); the seventh is
  // refused.
  ASSERT_TRUE(StreamsActiveBecomes(6));
  grpc::ClientContext context;
  auto seventh = stub_->StreamTranscribe(&context);
  seventh->Write(StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 16000));
  seventh->WritesDone();
  v1::StreamTranscribeResponse response;
  while (seventh->Read(&response)) {
  }
  const grpc::Status refused = seventh->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("limits.max_streams: 6"));
  // The six finish normally.
  for (auto& stream : streams) {
    stream->WritesDone();
    while (stream->Read(&response)) {
    }
    EXPECT_TRUE(stream->Finish().ok());
  }
  // A finished stream's slot is free before its client has the status: six
  // clients that reopen at once are all served.
  streams.clear();
  contexts.clear();
  for (int i = 0; i < 6; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stub_->StreamTranscribe(contexts.back().get()));
    ASSERT_TRUE(streams.back()->Write(
        StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 16000)));
    streams.back()->WritesDone();
  }
  for (auto& stream : streams) {
    while (stream->Read(&response)) {
    }
    const grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
}

TEST_F(RpcTest, CancellingAStreamCancelsItsUpstreamRequestsAndOthersGoOn) {
  FakeBehavior slow;
  slow.latency = absl::Seconds(20);
  audio_->Script("/v1/audio/transcriptions", slow, 1);
  const SpokenStream spoken = ThreeSentences();
  grpc::ClientContext context;
  auto stream = stub_->StreamTranscribe(&context);
  ASSERT_TRUE(stream->Write(StreamConfig(v1::AUDIO_ENCODING_LINEAR16, 16000)));
  const std::size_t first_utterance =
      static_cast<std::size_t>((spoken.speech[0].second + 1.0) * 32000) &
      ~std::size_t{1};
  for (std::size_t at = 0; at < first_utterance; at += 3200) {
    v1::StreamTranscribeRequest audio;
    audio.set_audio(spoken.pcm.substr(
        at, std::min<std::size_t>(3200, first_utterance - at)));
    ASSERT_TRUE(stream->Write(audio));
  }
  ASSERT_TRUE(Eventually([&] { return audio_->in_flight() == 1; }));
  context.TryCancel();
  v1::StreamTranscribeResponse response;
  while (stream->Read(&response)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(audio_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return requests.size() == 1 && requests[0].client_closed_early;
      },
      absl::Seconds(5)));
  // The gateway goes on serving.
  grpc::ClientContext chat_context;
  v1::ChatResponse chat;
  EXPECT_TRUE(stub_->Chat(&chat_context, Hello(), &chat).ok());
}

}  // namespace
}  // namespace voxgate::testing
