// The fault campaign: the crashes, hangs and wrong answers any caller could
// cause, each through the real voxgate process against the fake upstream, and
// a storm of cancels at random points. Each test waits on events with
// deadlines; none depends on how fast the machine is.

#include <atomic>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "common/timer_queue.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/call_mix.h"
#include "tests/eventually.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/gateway_process.h"
#include "tests/http_get.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

using ::voxgate::testing::Eventually;

using ::testing::HasSubstr;

// One audio pool (transcriptions) and one audio-chat pool on the audio fake,
// a text pool on the text fake. AUDIO_SLOTS sets the transcription pool's
// slots; LIMITS adds keys under limits.
constexpr char kConfig[] = R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "AUDIO/v1", max_concurrency: AUDIO_SLOTS}]
    models: [whisper-1]
    health_check: HEALTH
  - name: voxtral
    protocol: openai_chat_audio
    endpoints: [{url: "AUDIO/v1", max_concurrency: 16}]
    models: [voxtral]
    health_check: HEALTH
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "TEXT/v1", max_concurrency: TEXT_SLOTS}]
    models: [llama3]
    health_check: HEALTH
routing:
  audio_pool: whisper
  text_pool: llm
limits:
  max_streams: 64
LIMITS
EXTRA
)";

struct GatewayOptions {
  int audio_slots = 16;
  int text_slots = 16;
  std::string limits;  // extra lines under limits:, indented two spaces
  std::string extra;   // more top-level sections
  std::string health_check = "{path: \"\"}";
};

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    audio_ = std::move(FakeUpstream::Start().value());
    text_ = std::move(FakeUpstream::Start().value());
    auto http = upstream::HttpClient::Create();
    ASSERT_TRUE(http.ok());
    http_ = std::move(*http);
  }

  void StartGateway(const GatewayOptions& options = {}) {
    const std::string yaml = absl::StrReplaceAll(
        kConfig, {{"AUDIO", absl::StrCat("http://127.0.0.1:", audio_->port())},
                  {"TEXT", absl::StrCat("http://127.0.0.1:", text_->port())},
                  {"AUDIO_SLOTS", absl::StrCat(options.audio_slots)},
                  {"TEXT_SLOTS", absl::StrCat(options.text_slots)},
                  {"LIMITS", options.limits},
                  {"EXTRA", options.extra},
                  {"HEALTH", options.health_check}});
    auto gateway = GatewayProcess::Start(yaml);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = std::move(*gateway);
    stub_ = v1::VoxgateService::NewStub(gateway_->channel());
  }

  static v1::ChatRequest Hello(const std::string& text = "hello") {
    v1::ChatRequest request;
    v1::ChatMessage* message = request.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text(text);
    return request;
  }

  grpc::Status Chat(const v1::ChatRequest& request,
                    absl::Duration deadline = absl::Seconds(60)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    v1::ChatResponse response;
    return stub_->Chat(&context, request, &response);
  }

  // The sum of a metric's samples whose line starts with `series` (a name, or
  // a name and the start of its labels).
  absl::StatusOr<double> Metric(const std::string& series) {
    auto response = HttpGet(
        *http_,
        absl::StrCat("http://127.0.0.1:", gateway_->admin_port(), "/metrics"));
    if (!response.ok()) return response.status();
    double sum = 0;
    bool found = false;
    for (absl::string_view line : absl::StrSplit(response->body, '\n')) {
      if (!absl::StartsWith(line, series)) continue;
      const std::size_t space = line.rfind(' ');
      double value;
      if (space == absl::string_view::npos ||
          !absl::SimpleAtod(line.substr(space + 1), &value)) {
        continue;
      }
      // A bare name matches that name only, not longer ones it begins.
      const char next = line.size() > series.size() ? line[series.size()] : ' ';
      if (!absl::StrContains(series, '{') && next != ' ' && next != '{') {
        continue;
      }
      sum += value;
      found = true;
    }
    if (!found) return absl::NotFoundError(series);
    return sum;
  }

  // Waits until Metric(series) == value; false after `timeout`.
  bool MetricBecomes(const std::string& series, double value,
                     absl::Duration timeout = absl::Seconds(30)) {
    return Eventually(
        [&] {
          absl::StatusOr<double> now = Metric(series);
          return now.ok() && *now == value;
        },
        timeout);
  }

  // Waits until the fake has no request open; false after 30 s.
  static bool NothingInFlight(const FakeUpstream& fake) {
    return Eventually([&fake] { return fake.in_flight() == 0; });
  }

  // After a fault, the gateway serves every kind of call again, holds nothing
  // and drains and exits 0 on SIGTERM.
  void ExpectHealthyAndCleanExit() {
    EXPECT_TRUE(Chat(Hello()).ok());
    EXPECT_TRUE(MetricBecomes("voxgate_calls_in_flight", 0));
    EXPECT_TRUE(MetricBecomes("voxgate_streams_active", 0));
    EXPECT_TRUE(MetricBecomes("voxgate_upstream_in_flight", 0));
    EXPECT_TRUE(NothingInFlight(*audio_));
    EXPECT_TRUE(NothingInFlight(*text_));
    absl::StatusOr<int> exit_code = gateway_->Terminate(absl::Seconds(60));
    ASSERT_TRUE(exit_code.ok()) << "voxgate did not exit after SIGTERM";
    EXPECT_EQ(*exit_code, 0);
  }

  std::unique_ptr<FakeUpstream> audio_;
  std::unique_ptr<FakeUpstream> text_;
  std::unique_ptr<upstream::HttpClient> http_;
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<v1::VoxgateService::Stub> stub_;
};

// Reads a ChatStream to its end: the deltas' text, the final chunk and status.
struct StreamedChat {
  std::string text;
  v1::ChatChunk last;
  grpc::Status status;
};
StreamedChat ReadChatStream(v1::VoxgateService::Stub& stub,
                            const v1::ChatRequest& request) {
  StreamedChat result;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(90)));
  auto reader = stub.ChatStream(&context, request);
  v1::ChatChunk chunk;
  while (reader->Read(&chunk)) {
    result.text += chunk.delta();
    result.last = chunk;
  }
  result.status = reader->Finish();
  return result;
}

// Defect 1: the stall check counted from the Unix epoch, so every stream
// whose first byte took over ~100 ms failed "stalled", and five of those
// ejected the endpoint.
TEST_F(FaultsTest, ChatStreamWaitsForASlowFirstByte) {
  StartGateway();
  for (absl::Duration first_byte :
       {absl::Milliseconds(100), absl::Seconds(1), absl::Seconds(10)}) {
    FakeBehavior thinking;
    thinking.latency = first_byte;
    thinking.text = "the answer after thinking";
    text_->Script("/v1/chat/completions", thinking, 6);
  }
  // All eighteen at once: three delays, six streams each (more than the five
  // failures that used to eject the endpoint).
  std::vector<StreamedChat> results(18);
  std::vector<std::thread> threads;
  for (StreamedChat& result : results) {
    threads.emplace_back([&] { result = ReadChatStream(*stub_, Hello()); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const StreamedChat& result : results) {
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(result.text, "the answer after thinking");
    EXPECT_EQ(result.last.finish_reason(), v1::FINISH_REASON_STOP);
  }
  // The endpoint was never ejected: the next stream is served at once.
  EXPECT_TRUE(ReadChatStream(*stub_, Hello()).status.ok());
  absl::StatusOr<double> ejections = Metric("voxgate_upstream_ejections_total");
  ASSERT_TRUE(ejections.ok()) << ejections.status();
  EXPECT_EQ(*ejections, 0);
}

TEST_F(FaultsTest, StreamTranscribeWaitsForASlowFirstByte) {
  StartGateway();
  // Three streams at once, one utterance each; their requests get the three
  // delays in the order they arrive.
  for (absl::Duration first_byte :
       {absl::Milliseconds(100), absl::Seconds(1), absl::Seconds(10)}) {
    FakeBehavior thinking;
    thinking.latency = first_byte;
    thinking.text = "slowly transcribed";
    audio_->Script("/v1/audio/transcriptions", thinking, 1);
  }
  const std::string wav =
      ConcatWav({SpeechWav("Please call Stella."), SilenceWav(1.5, 16000)});
  std::vector<std::string> texts(3);
  std::vector<grpc::Status> statuses(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(90)));
      auto stream = stub_->StreamTranscribe(&context);
      v1::StreamTranscribeRequest config;
      config.mutable_config()->mutable_format()->set_encoding(
          v1::AUDIO_ENCODING_WAV);
      if (stream->Write(config)) WriteAudio(*stream, wav, 8000);
      stream->WritesDone();
      v1::StreamTranscribeResponse response;
      while (stream->Read(&response)) {
        if (response.result().is_final()) texts[i] += response.result().text();
      }
      statuses[i] = stream->Finish();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(texts[i], "slowly transcribed");
  }
  // All three delays were served.
  EXPECT_EQ(audio_->Requests("/v1/audio/transcriptions").size(), 3u);
}

// Defect 2: the transcoding step freed the closure that was running.
TEST_F(FaultsTest, ChatAndChatStreamTranscodeFlacAndOggOpusAudioParts) {
  StartGateway();
  const std::string speech = SpeechWav("Please call Stella.");
  v1::ChatRequest request = Hello("what is said?");
  request.set_model("voxtral");
  v1::ChatMessage* message = request.mutable_messages(0);
  struct Part {
    std::string args, extension;
    v1::AudioEncoding encoding;
  };
  for (const Part& part :
       {Part{"-c:a flac", "flac", v1::AUDIO_ENCODING_FLAC},
        Part{"-c:a libopus", "ogg", v1::AUDIO_ENCODING_OGG_OPUS}}) {
    v1::AudioInput* audio = message->add_content()->mutable_audio();
    audio->set_content(Transcode(speech, part.args, part.extension));
    audio->mutable_format()->set_encoding(part.encoding);
  }
  v1::ChatResponse unary;
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    grpc::Status status = stub_->Chat(&context, request, &unary);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // ChatStream transcodes the same parts as Chat does, and answers the same.
  const StreamedChat streamed = ReadChatStream(*stub_, request);
  ASSERT_TRUE(streamed.status.ok()) << streamed.status.error_message();
  EXPECT_EQ(streamed.text, unary.content());
  // Every part of every call arrived as 16 kHz WAV.
  const std::vector<FakeRequest> sent =
      audio_->Requests("/v1/chat/completions");
  ASSERT_EQ(sent.size(), 4u);
  for (const FakeRequest& one : sent) {
    ASSERT_EQ(one.audio.size(), 2u);
    for (const AudioProbe& probe : one.audio) {
      EXPECT_EQ(probe.sample_rate, 16000);
    }
  }
  ExpectHealthyAndCleanExit();
}

// Defects 3 and 7, and the smaller wrong answers of 8: hostile requests each
// get INVALID_ARGUMENT naming the field, appear in the metrics and the call
// log, and everyone else is still served.
TEST_F(FaultsTest, HostileRequestsGetInvalidArgumentNamingTheField) {
  StartGateway();
  struct Case {
    std::string name;
    v1::ChatRequest request;
    std::string message;
  };
  std::vector<Case> cases;
  {
    v1::ChatRequest nested = Hello();
    (*nested.mutable_backend_options())["tools"] =
        std::string(100000, '[') + std::string(100000, ']');
    cases.push_back({"nested JSON (200 KB, 100,000 levels)", nested,
                     "backend_options.tools: keys 1 to 64 characters, values "
                     "up to 16384 bytes"});
    v1::ChatRequest deep = Hello();
    (*deep.mutable_backend_options())["extra"] =
        std::string(5000, '[') + std::string(5000, ']');
    cases.push_back({"nested JSON (10 KB, 5,000 levels)", deep,
                     "backend_options.extra: JSON nested deeper than 32"});
    v1::ChatRequest schema = Hello();
    v1::ResponseFormat* format =
        schema.mutable_generation()->mutable_response_format();
    format->set_type(v1::RESPONSE_FORMAT_TYPE_JSON_SCHEMA);
    format->set_json_schema(std::string(30000, '[') + std::string(30000, ']'));
    cases.push_back({"nested JSON schema", schema,
                     "generation.response_format.json_schema: nested deeper"});
  }
  for (const std::string key : {"model", "messages", "max_tokens", "stream"}) {
    v1::ChatRequest owned = Hello();
    (*owned.mutable_backend_options())[key] = "[]";
    cases.push_back(
        {"owned key " + key, owned,
         absl::StrCat("backend_options.", key, ": is set by the gateway")});
  }
  {
    v1::ChatRequest nan = Hello();
    nan.mutable_generation()->set_temperature(
        std::numeric_limits<float>::quiet_NaN());
    cases.push_back(
        {"NaN temperature", nan,
         "generation.temperature: must be between 0 and 2, got nan"});
    v1::ChatRequest utf8 = Hello("caf\xc3 au lait");
    cases.push_back({"invalid UTF-8", utf8,
                     "string field voxgate.v1.ContentPart.text of "
                     "voxgate.v1.ChatRequest is not valid UTF-8"});
  }
  for (const Case& c : cases) {
    grpc::Status status = Chat(c.request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.name << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.name;
    // Everyone else is still served.
    EXPECT_TRUE(Chat(Hello()).ok()) << "after " << c.name;
  }
  // Nothing reached the model server but the good calls.
  const std::vector<FakeRequest> sent = text_->Requests("/v1/chat/completions");
  EXPECT_EQ(sent.size(), cases.size());
  for (const FakeRequest& request : sent) {
    EXPECT_EQ(request.json["model"], "llama3");
    EXPECT_EQ(request.json["messages"].size(), 1u);
  }
  // Each refusal is counted and logged like any call.
  absl::StatusOr<double> refused = Metric(
      "grpc_server_handled_total{grpc_code=\"InvalidArgument\","
      "grpc_method=\"Chat\"");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(*refused, static_cast<double>(cases.size()));
  auto log = gateway_->LogWith("not valid UTF-8", absl::Seconds(30));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_THAT(*log, HasSubstr("\"code\":\"INVALID_ARGUMENT\""));
  ExpectHealthyAndCleanExit();
}

TEST_F(FaultsTest, ADecompressionBombIsRefusedFromItsDeclaredLength) {
  GatewayOptions options;
  options.extra = "audio:\n  max_audio_duration: 2m";
  StartGateway(options);
  // Ten minutes of Opus silence: a few hundred KB.
  v1::TranscribeRequest request;
  request.mutable_audio()->set_content(
      Transcode(SilenceWav(600, 16000), "-c:a libopus -b:a 6k", "opus"));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  v1::TranscribeResponse response;
  grpc::Status status = stub_->Transcribe(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("the file declares 10m of audio, over "
                        "max_audio_duration 2m"));
  EXPECT_TRUE(audio_->Requests().empty());
  ExpectHealthyAndCleanExit();
}

// Defect 6: a call with no deadline against a hung upstream never ended.
TEST_F(FaultsTest, ACallWithoutADeadlineEndsAtTheDefaultDeadline) {
  GatewayOptions options;
  options.limits =
      "  default_unary_deadline: 2s\n"
      "  default_stream_deadline: 3s";
  StartGateway(options);
  FakeBehavior hang;
  hang.hang = true;
  text_->SetDefault(hang);
  {
    grpc::ClientContext context;  // no deadline, as grpcurl sends
    v1::ChatResponse response;
    grpc::Status status = stub_->Chat(&context, Hello(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << status.error_message();
  }
  {
    grpc::ClientContext context;
    auto reader = stub_->ChatStream(&context, Hello());
    v1::ChatChunk chunk;
    while (reader->Read(&chunk)) {
    }
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // The hung requests were closed, not left open.
  EXPECT_TRUE(text_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return requests.size() == 2 && requests[0].client_closed_early &&
               requests[1].client_closed_early;
      },
      absl::Seconds(30)));
  text_->SetDefault(FakeBehavior());
  ExpectHealthyAndCleanExit();
}

// Defect 5: a ChatStream cancelled while it started kept its admission slot,
// its upstream request and (with max_concurrent_calls 1) the gateway.
TEST_F(FaultsTest, CancelledChatStreamsReleaseTheirSlots) {
  GatewayOptions options;
  options.limits =
      "  max_concurrent_calls: 1\n"
      "  admission_wait: 30s";
  StartGateway(options);
  FakeBehavior slow;
  slow.chunk_interval = absl::Milliseconds(20);
  slow.text = "a slow answer in many pieces";
  text_->SetDefault(slow);
  TimerQueue cancels;
  std::mt19937 random(7);
  for (int i = 0; i < 300; ++i) {
    auto context = std::make_shared<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    const absl::Duration after =
        absl::Microseconds(std::uniform_int_distribution<>(0, 20000)(random));
    const TimerQueue::TimerId id =
        cancels.ScheduleAfter(after, [context] { context->TryCancel(); });
    auto reader = stub_->ChatStream(context.get(), Hello());
    v1::ChatChunk chunk;
    while (reader->Read(&chunk)) {
    }
    const grpc::Status status = reader->Finish();
    cancels.Cancel(id);
    ASSERT_TRUE(status.ok() ||
                status.error_code() == grpc::StatusCode::CANCELLED)
        << i << ": " << status.error_message();
  }
  // The only slot is free: a new call gets it at once.
  text_->SetDefault(FakeBehavior());
  EXPECT_TRUE(Chat(Hello(), absl::Seconds(20)).ok());
  ExpectHealthyAndCleanExit();
}

// Defect 4: an utterance waiting for a pool slot when the stream ended (by a
// cancel, the idle timeout or max_stream_duration) deadlocked the stream's
// thread, and with it the HTTP loop or the timer thread.
class StreamEndWhileWaitingTest
    : public FaultsTest,
      public ::testing::WithParamInterface<std::string> {};

TEST_P(StreamEndWhileWaitingTest, EndsTheStreamAndTheGatewayGoesOn) {
  const std::string how = GetParam();
  GatewayOptions options;
  options.audio_slots = 1;
  options.limits =
      "  stream_idle_timeout: 2s\n"
      "  max_stream_duration: 6s";
  StartGateway(options);
  FakeBehavior hang;
  hang.hang = true;
  audio_->Script("/v1/audio/transcriptions", hang, 1);  // holds the one slot
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(90)));
  auto stream = stub_->StreamTranscribe(&context);
  v1::StreamTranscribeRequest config;
  config.mutable_config()->mutable_format()->set_encoding(
      v1::AUDIO_ENCODING_WAV);
  config.mutable_config()->set_enable_speech_events(true);
  ASSERT_TRUE(stream->Write(config));
  const std::string pause = SilenceWav(1.0, 16000);
  const std::string wav =
      ConcatWav({SpeechWav("Please call Stella."), pause,
                 SpeechWav("Ask her to bring these things."), pause});
  ASSERT_TRUE(WriteAudio(*stream, wav, 8000));
  // Two utterances ended: the first holds the slot, the second waits for it.
  int ends = 0;
  v1::StreamTranscribeResponse response;
  while (ends < 2 && stream->Read(&response)) {
    ends += response.event().type() == v1::SpeechEvent::TYPE_END_OF_UTTERANCE;
  }
  ASSERT_EQ(ends, 2);
  grpc::StatusCode expected;
  if (how == "cancel") {
    context.TryCancel();
    expected = grpc::StatusCode::CANCELLED;
  } else if (how == "idle") {
    expected = grpc::StatusCode::DEADLINE_EXCEEDED;  // the client says no more
  } else {
    // Silence past max_stream_duration.
    WriteAudio(*stream, SilenceWav(6.0, 16000).substr(44), 8000);
    expected = grpc::StatusCode::OUT_OF_RANGE;
  }
  while (stream->Read(&response)) {
  }
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), expected) << status.error_message();
  // Both upstream requests were closed, the waiting one never sent.
  audio_->ClearScripts();
  ExpectHealthyAndCleanExit();
}

INSTANTIATE_TEST_SUITE_P(Ends, StreamEndWhileWaitingTest,
                         ::testing::Values("cancel", "idle",
                                           "max_stream_duration"));

// A single_utterance stream that heard several utterances used to cancel the
// later ones' requests and end CANCELLED; it ends OK with the first result.
TEST_F(FaultsTest, SingleUtteranceEndsOkAfterItsFirstResult) {
  StartGateway();
  FakeBehavior slow;
  slow.latency = absl::Seconds(1);
  audio_->SetDefault(slow);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(90)));
  auto stream = stub_->StreamTranscribe(&context);
  v1::StreamTranscribeRequest config;
  config.mutable_config()->mutable_format()->set_encoding(
      v1::AUDIO_ENCODING_WAV);
  config.mutable_config()->set_single_utterance(true);
  ASSERT_TRUE(stream->Write(config));
  const std::string pause = SilenceWav(1.0, 16000);
  const std::string wav =
      ConcatWav({SpeechWav("Please call Stella."), pause,
                 SpeechWav("Ask her to bring these things."), pause,
                 SpeechWav("We also need a snake."), pause});
  WriteAudio(*stream, wav, 8000);  // the gateway stops listening after one
  stream->WritesDone();
  int finals = 0;
  v1::StreamTranscribeResponse response;
  while (stream->Read(&response)) finals += response.result().is_final();
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(finals, 1);
  audio_->SetDefault(FakeBehavior());
  ExpectHealthyAndCleanExit();
}

// The cancel storm: thousands of mixed calls, each cancelled at a random
// point (waiting for admission, queued for the one pool slot, in retry
// backoff, mid-stream, after the answer), against a fake that answers
// slowly, with 503s and with resets.
TEST_F(FaultsTest, ACancelStormLeavesNothingBehind) {
  // Active health checks end the ejections the storm causes as soon as the
  // upstream is well again.
  GatewayOptions options;
  options.audio_slots = 1;
  options.text_slots = 1;
  options.limits =
      "  max_concurrent_calls: 8\n"
      "  admission_wait: 10s\n"
      "  max_waiting_calls: 64";
  options.health_check = "{path: /health, interval: 1s}";
  StartGateway(options);
  // The upstream's mood changes under the storm.
  std::vector<FakeBehavior> moods(4);
  moods[0].latency = absl::Milliseconds(15);
  moods[1].status = 503;
  moods[2].reset_before_response = true;
  moods[3].chunk_interval = absl::Milliseconds(3);
  std::atomic<bool> storming{true};
  std::thread weather([&] {
    for (int turn = 0; storming.load(); ++turn) {
      audio_->SetDefault(moods[turn % moods.size()]);
      text_->SetDefault(moods[(turn + 1) % moods.size()]);
      absl::SleepFor(absl::Milliseconds(40));  // the weather, not a sync
    }
  });
  const std::string wav = ToneWav(440, 2.0, 16000, 1);
  TimerQueue cancels;
  constexpr int kThreads = 16;
  constexpr int kCallsPerThread = 125;  // 2,000 calls
  std::atomic<int> unexpected{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 random(t);
      for (int i = 0; i < kCallsPerThread; ++i) {
        auto context = std::make_shared<grpc::ClientContext>();
        context->set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
        const absl::Duration after = absl::Microseconds(
            std::uniform_int_distribution<>(0, 60000)(random));
        const TimerQueue::TimerId id =
            cancels.ScheduleAfter(after, [context] { context->TryCancel(); });
        const CallKind kind = static_cast<CallKind>((t + i) % kCallKinds);
        const grpc::Status status = RunCall(*stub_, kind, context.get(), wav);
        cancels.Cancel(id);
        // Every documented outcome of a call under these faults; never
        // UNKNOWN, INTERNAL or a hang.
        switch (status.error_code()) {
          case grpc::StatusCode::OK:
          case grpc::StatusCode::CANCELLED:
          case grpc::StatusCode::UNAVAILABLE:
          case grpc::StatusCode::RESOURCE_EXHAUSTED:
          case grpc::StatusCode::DEADLINE_EXCEEDED:
            break;
          default:
            ADD_FAILURE() << "call kind " << static_cast<int>(kind) << ": "
                          << status.error_code() << " "
                          << status.error_message();
            unexpected.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  storming.store(false);
  weather.join();
  audio_->SetDefault(FakeBehavior());
  text_->SetDefault(FakeBehavior());
  EXPECT_EQ(unexpected.load(), 0);
  // The endpoints the faults ejected are back after their next health check.
  EXPECT_TRUE(MetricBecomes("voxgate_upstream_endpoint_ejected", 0));
  EXPECT_TRUE(MetricBecomes("voxgate_upstream_pool_available", 3));
  ExpectHealthyAndCleanExit();
}

}  // namespace
}  // namespace voxgate::testing
