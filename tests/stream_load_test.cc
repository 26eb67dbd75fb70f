// 500 concurrent StreamTranscribe calls at real-time pace through the real
// voxgate process against the fake upstream: every stream completes with its
// results.

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/gateway_process.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

constexpr int kStreams = 500;

TEST(StreamLoadTest, FiveHundredRealTimeStreamsCompleteWithoutErrors) {
  auto fake = FakeUpstream::Start();
  ASSERT_TRUE(fake.ok());
  FakeBehavior latency;
  latency.latency = absl::Milliseconds(100);
  (*fake)->SetDefault(latency);
  const std::string yaml = absl::StrReplaceAll(R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "URL", max_concurrency: 1024}]
    max_queue: 2048
    health_check: {path: ""}
limits:
  max_concurrent_calls: 1024
audio:
  worker_queue: 4096
logging: {level: info}
)",
                                               {{"URL", (*fake)->base_url()}});
  auto gateway = GatewayProcess::Start(yaml);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  // Two utterances of speech with pauses, 16 kHz s16le.
  const std::string pause = SilenceWav(1.0, 16000);
  const std::string wav =
      ConcatWav({SilenceWav(0.3, 16000), SpeechWav("Hello there."), pause,
                 SpeechWav("Call me back."), pause});
  const std::string pcm = wav.substr(44);

  std::atomic<int> ok{0}, finals{0};
  std::vector<std::string> errors(kStreams);
  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      auto stub = v1::VoxgateService::NewStub((*gateway)->channel());
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(60));
      auto stream = stub->StreamTranscribe(&context);
      v1::StreamTranscribeRequest config;
      config.mutable_config()->mutable_format()->set_encoding(
          v1::AUDIO_ENCODING_LINEAR16);
      config.mutable_config()->mutable_format()->set_sample_rate_hertz(16000);
      config.mutable_config()->mutable_format()->set_channel_count(1);
      stream->Write(config);
      // Start spread over the first piece, then real time: 100 ms every 100 ms.
      absl::SleepFor(absl::Milliseconds(s % 100));
      const absl::Time start = absl::Now();
      int piece = 0;
      for (std::size_t at = 0; at < pcm.size(); at += 3200, ++piece) {
        absl::SleepFor(start + absl::Milliseconds(100) * piece - absl::Now());
        v1::StreamTranscribeRequest audio;
        audio.set_audio(pcm.substr(at, 3200));
        if (!stream->Write(audio)) break;
      }
      stream->WritesDone();
      v1::StreamTranscribeResponse response;
      int mine = 0;
      while (stream->Read(&response)) mine += response.result().is_final();
      grpc::Status status = stream->Finish();
      if (status.ok() && mine == 2) {
        ok++;
      } else {
        errors[s] = absl::StrCat(status.error_code(), " ",
                                 status.error_message(), " finals ", mine);
      }
      finals += mine;
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int s = 0; s < kStreams; ++s) {
    EXPECT_TRUE(errors[s].empty()) << "stream " << s << ": " << errors[s];
    if (!errors[s].empty()) break;  // one is enough to read
  }
  EXPECT_EQ(ok.load(), kStreams);
  EXPECT_EQ(finals.load(), 2 * kStreams);
  EXPECT_EQ((*fake)->Requests("/v1/audio/transcriptions").size(),
            static_cast<std::size_t>(2 * kStreams));
}

}  // namespace
}  // namespace voxgate::testing
