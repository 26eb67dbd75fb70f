// Every unary and server-streaming RPC through the real voxgate process,
// against fake upstreams, with a real gRPC client over loopback.

#include <cmath>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/eventually.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/gateway_process.h"
#include "tests/http_get.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

using ::voxgate::testing::Eventually;

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kConfig[] = R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "AUDIO/v1", max_concurrency: 16}]
    models: [whisper-1]
    health_check: {path: ""}
  - name: voxtral
    protocol: openai_chat_audio
    endpoints: [{url: "AUDIO/v1", max_concurrency: 16}]
    models: [voxtral]
    health_check: {path: ""}
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "TEXT/v1", max_concurrency: 16}]
    models: [llama3]
    health_check: {path: ""}
routing:
  audio_pool: whisper
  text_pool: llm
limits:
  max_streams: 6
  stream_idle_timeout: 2s
)";

class RpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    audio_ = FakeUpstream::Start().value().release();
    text_ = FakeUpstream::Start().value().release();
    const std::string yaml = absl::StrReplaceAll(
        kConfig, {{"AUDIO", absl::StrCat("http://127.0.0.1:", audio_->port())},
                  {"TEXT", absl::StrCat("http://127.0.0.1:", text_->port())}});
    auto gateway = GatewayProcess::Start(yaml);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = gateway->release();
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete audio_;
    delete text_;
  }
  void SetUp() override {
    for (FakeUpstream* fake : {audio_, text_}) {
      fake->ClearScripts();
      fake->SetDefault(FakeBehavior());
      fake->ClearRequests();
    }
    stub_ = v1::VoxgateService::NewStub(gateway_->channel());
  }

  static v1::ChatRequest Hello(const std::string& text = "hello") {
    v1::ChatRequest request;
    v1::ChatMessage* message = request.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text(text);
    return request;
  }

  static std::string Trailer(const grpc::ClientContext& context,
                             const std::string& key) {
    auto it = context.GetServerTrailingMetadata().find(key);
    return it == context.GetServerTrailingMetadata().end()
               ? ""
               : std::string(it->second.data(), it->second.size());
  }

  // Polls the gateway's voxgate_streams_active gauge for up to 10 s.
  static bool StreamsActiveBecomes(int count) {
    auto http = upstream::HttpClient::Create();
    if (!http.ok()) return false;
    const std::string url =
        absl::StrCat("http://127.0.0.1:", gateway_->admin_port(), "/metrics");
    const std::string line =
        absl::StrCat("\nvoxgate_streams_active ", count, "\n");
    for (int i = 0; i < 1000; ++i) {
      auto response = HttpGet(**http, url);
      if (response.ok() && absl::StrContains(response->body, line)) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  static FakeUpstream* audio_;
  static FakeUpstream* text_;
  static GatewayProcess* gateway_;
  std::unique_ptr<v1::VoxgateService::Stub> stub_;
};

FakeUpstream* RpcTest::audio_ = nullptr;
FakeUpstream* RpcTest::text_ = nullptr;
GatewayProcess* RpcTest::gateway_ = nullptr;

TEST_F(RpcTest, ChatPassesThroughWithRequestIdAndTimings) {
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", "req-chat-1");
  v1::ChatRequest request = Hello("what is voxgate");
  request.mutable_generation()->set_temperature(0.25f);
  request.mutable_generation()->set_max_tokens(64);
  request.mutable_generation()->add_stop("\n");
  v1::ChatResponse response;
  grpc::Status status = stub_->Chat(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.content(), "echo: what is voxgate");
  EXPECT_EQ(response.finish_reason(), v1::FINISH_REASON_STOP);
  EXPECT_EQ(response.model(), "llama3");
  EXPECT_EQ(response.request_id(), "req-chat-1");
  EXPECT_GT(response.usage().total_tokens(), 0);
  auto initial = context.GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(initial, context.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(initial->second.data(), initial->second.size()),
            "req-chat-1");
  EXPECT_FALSE(Trailer(context, "voxgate-total-ms").empty());
  EXPECT_FALSE(Trailer(context, "voxgate-overhead-ms").empty());

  const FakeRequest upstream = text_->Requests().at(0);
  EXPECT_EQ(upstream.wire.Header("x-request-id"), "req-chat-1");
  EXPECT_FLOAT_EQ(upstream.json["temperature"].get<float>(), 0.25f);
  EXPECT_EQ(upstream.json["max_tokens"], 64);
  EXPECT_EQ(upstream.json["stop"][0], "\n");
  EXPECT_EQ(upstream.json["model"], "llama3");
}

TEST_F(RpcTest, ChatErrorsCarryTheDocumentedCodes) {
  {
    grpc::ClientContext context;
    v1::ChatResponse response;
    grpc::Status status = stub_->Chat(&context, v1::ChatRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("messages"));
  }
  {
    FakeBehavior down;
    down.status = 503;
    text_->SetDefault(down);
    grpc::ClientContext context;
    v1::ChatResponse response;
    grpc::Status status = stub_->Chat(&context, Hello(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr("pool llm"));
  }
  {
    FakeBehavior bad;
    bad.status = 400;
    text_->SetDefault(bad);
    grpc::ClientContext context;
    v1::ChatResponse response;
    EXPECT_EQ(stub_->Chat(&context, Hello(), &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    FakeBehavior broken;
    broken.malformed_json = true;
    text_->SetDefault(broken);
    grpc::ClientContext context;
    v1::ChatResponse response;
    EXPECT_EQ(stub_->Chat(&context, Hello(), &response).error_code(),
              grpc::StatusCode::INTERNAL);
  }
  {
    text_->SetDefault(FakeBehavior());
    grpc::ClientContext context;
    v1::ChatRequest request = Hello();
    request.set_model("no-such-model");
    v1::ChatResponse response;
    EXPECT_EQ(stub_->Chat(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    FakeBehavior slow;
    slow.latency = absl::Seconds(5);
    text_->SetDefault(slow);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(300));
    v1::ChatResponse response;
    EXPECT_EQ(stub_->Chat(&context, Hello(), &response).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
}

TEST_F(RpcTest, ChatStreamRelaysDeltasWhileTheUpstreamIsStillStreaming) {
  FakeBehavior slow;
  slow.text = "one two three four five six";
  slow.chunk_interval = absl::Milliseconds(150);
  text_->SetDefault(slow);
  grpc::ClientContext context;
  auto reader = stub_->ChatStream(&context, Hello());
  v1::ChatChunk chunk;
  std::vector<absl::Time> arrivals;
  std::string text;
  v1::ChatChunk last;
  std::string model;
  while (reader->Read(&chunk)) {
    arrivals.push_back(absl::Now());
    text += chunk.delta();
    if (!chunk.model().empty()) model = chunk.model();
    last = chunk;
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(text, "one two three four five six");
  EXPECT_EQ(model, "llama3");
  EXPECT_EQ(last.finish_reason(), v1::FINISH_REASON_STOP);
  EXPECT_GT(last.usage().output_tokens(), 0);
  // The first delta arrived long before the upstream finished: no buffering.
  // (A request of an earlier test may still be recorded late: pick this one.)
  std::vector<FakeRequest> streams;
  for (const FakeRequest& request : text_->Requests()) {
    if (request.json.value("stream", false)) streams.push_back(request);
  }
  ASSERT_EQ(streams.size(), 1u);
  const FakeRequest& upstream = streams[0];
  ASSERT_GE(arrivals.size(), 6u);
  EXPECT_LT(arrivals.front(), upstream.finished - absl::Milliseconds(500));
}

TEST_F(RpcTest, ChatStreamCancelClosesTheUpstreamConnection) {
  FakeBehavior slow;
  slow.text = "one two three four five six seven eight nine ten";
  slow.chunk_interval = absl::Milliseconds(200);
  text_->SetDefault(slow);
  grpc::ClientContext context;
  auto reader = stub_->ChatStream(&context, Hello());
  v1::ChatChunk chunk;
  ASSERT_TRUE(reader->Read(&chunk));
  context.TryCancel();
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(text_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return requests.size() == 1 && requests[0].client_closed_early;
      },
      absl::Seconds(5)));
}

// A long recording: sentences with pauses, repeated to `minutes`.
std::string LongRecording(double minutes) {
  const std::string sentence =
      SpeechWav("The quick brown fox jumps over the lazy dog.");
  const std::string pause = SilenceWav(1.2, 16000);
  const std::string unit =
      ConcatWav({sentence, pause, sentence, pause, sentence, pause});
  const std::string unit_path = TempPath("unit.wav");
  WriteBytes(unit_path, unit);
  const std::string out = TempPath("long.wav");
  EXPECT_TRUE(RunCommand(absl::StrCat("sox ", unit_path, " ", out,
                                      " repeat 200 trim 0 ", minutes * 60)));
  return ReadBytes(out);
}

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
TEST_F(RpcTest, CancellingAChatClosesItsUpstreamRequestAndTheNextCallIsServed) {
  FakeBehavior slow;
  slow.latency = absl::Seconds(20);
  text_->SetDefault(slow);
  grpc::ClientContext context;
  v1::ChatResponse response;
  std::thread canceller([&] {
    EXPECT_TRUE(Eventually([&] { return text_->in_flight() >= 1; }));
    context.TryCancel();
  });
  grpc::Status status = stub_->Chat(&context, Hello(), &response);
  canceller.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(text_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        for (const FakeRequest& request : requests) {
          if (request.client_closed_early) return true;
        }
        return false;
      },
      absl::Seconds(5)));

  text_->SetDefault(FakeBehavior());
  grpc::ClientContext next;
  v1::ChatResponse answer;
  ASSERT_TRUE(stub_->Chat(&next, Hello(), &answer).ok());
  EXPECT_FALSE(answer.content().empty());
}

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

// Unary calls whose upstream answers at once, many in flight: the answer can
// complete a call on the upstream loop's thread while the thread that started
// the request is still inside the call. Each call must still be answered, and
// the gateway must stay up (the ASan run turns any use after free into a
// crash, and every later call into a failure).
TEST_F(RpcTest, ManyConcurrentUnaryCallsWithInstantAnswersAllComplete) {
  constexpr int kCalls = 3000;
  constexpr int kAnalyzeEvery = 30;  // the others are Chats
  constexpr int kInFlight = 32;
  v1::AnalyzeRequest analyze;
  analyze.mutable_audio()->set_content(SpeechWav("meeting at noon"));
  analyze.set_instruction("Summarise this.");
  analyze.set_mode(v1::ANALYZE_MODE_DIRECT);
  analyze.set_model("voxtral");
  // One thread starts calls and reaps them on a completion queue (the client's
  // callback API would bring its own threads into the test).
  struct Call {
    int index = 0;
    grpc::ClientContext context;
    grpc::Status status;
    v1::ChatResponse chat;
    v1::AnalyzeResponse analyze;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::ChatResponse>>
        chat_reader;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::AnalyzeResponse>>
        analyze_reader;
  };
  grpc::CompletionQueue queue;
  auto start = [&](int index) {
    auto* call = new Call();
    call->index = index;
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(30));
    if (index % kAnalyzeEvery == 0) {
      call->analyze_reader =
          stub_->AsyncAnalyze(&call->context, analyze, &queue);
      call->analyze_reader->Finish(&call->analyze, &call->status, call);
    } else {
      call->chat_reader = stub_->AsyncChat(
          &call->context, Hello(absl::StrCat("n", index)), &queue);
      call->chat_reader->Finish(&call->chat, &call->status, call);
    }
  };
  int started = 0;
  while (started < kInFlight) start(started++);
  int answered = 0;
  int ok = 0;
  std::string first_failure;
  void* tag;
  bool event_ok;
  while (answered < kCalls && queue.Next(&tag, &event_ok)) {
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    ++answered;
    const bool right =
        call->index % kAnalyzeEvery == 0
            ? absl::StrContains(call->analyze.answer(), "16000 Hz")
            : call->chat.content() == absl::StrCat("echo: n", call->index);
    if (call->status.ok() && right) {
      ++ok;
    } else if (first_failure.empty()) {
      first_failure = absl::StrCat("call ", call->index, ": ",
                                   call->status.error_message());
    }
    if (started < kCalls) start(started++);
  }
  EXPECT_EQ(ok, kCalls) << first_failure;
}

TEST_F(RpcTest, AnalyzeDirectSendsAudioAndInstructionToTheAudioChatModel) {
  v1::AnalyzeRequest request;
  request.mutable_audio()->set_content(
      Transcode(SpeechWav("meeting at noon"), "-c:a libopus", "ogg"));
  request.set_instruction("Summarise this.");
  request.set_system_prompt("Be brief.");
  request.set_mode(v1::ANALYZE_MODE_DIRECT);
  request.set_model("voxtral");
  grpc::ClientContext context;
  v1::AnalyzeResponse response;
  grpc::Status status = stub_->Analyze(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.answer(), HasSubstr("frames at 16000 Hz 1 ch"));
  const FakeRequest upstream = audio_->Requests("/v1/chat/completions").at(0);
  EXPECT_EQ(upstream.json["model"], "voxtral");
  EXPECT_EQ(upstream.json["messages"][0]["content"], "Be brief.");
  EXPECT_EQ(upstream.json["messages"][1]["content"][0]["text"],
            "Summarise this.");
  EXPECT_EQ(upstream.json["messages"][1]["content"][1]["input_audio"]["format"],
            "wav");
  EXPECT_EQ(upstream.audio.at(0).sample_rate, 16000);
}

TEST_F(RpcTest, AnalyzeCascadeTranscribesThenAsksTheTextModel) {
  FakeBehavior transcript;
  transcript.text = "the meeting moved to noon";
  audio_->SetDefault(transcript);
  v1::AnalyzeRequest request;
  request.mutable_audio()->set_content(SpeechWav("the meeting moved to noon"));
  request.set_instruction("When is the meeting?");
  request.set_mode(v1::ANALYZE_MODE_CASCADE);
  grpc::ClientContext context;
  v1::AnalyzeResponse response;
  grpc::Status status = stub_->Analyze(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.transcript(), "the meeting moved to noon");
  EXPECT_EQ(response.mode(), v1::ANALYZE_MODE_CASCADE);
  const FakeRequest asked = text_->Requests().at(0);
  const std::string prompt = asked.json["messages"][0]["content"];
  EXPECT_THAT(prompt, HasSubstr("When is the meeting?"));
  EXPECT_THAT(prompt, HasSubstr("the meeting moved to noon"));
  EXPECT_THAT(response.answer(), HasSubstr("When is the meeting?"));
  EXPECT_GT(response.usage().audio_seconds(), 0);
}

TEST_F(RpcTest, ListModelsShowsEveryPoolWithItsCapabilities) {
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  ASSERT_TRUE(stub_->ListModels(&context, {}, &response).ok());
  // The configured models, in order; besides them, once the background
  // refresh has asked, what the fake reports ("fake-model") in each pool.
  std::vector<v1::ModelInfo> configured;
  for (const v1::ModelInfo& model : response.models()) {
    if (model.configured()) {
      configured.push_back(model);
    } else {
      EXPECT_EQ(model.id(), "fake-model");
      EXPECT_EQ(model.listing(), v1::MODEL_LISTING_REPORTED);
    }
  }
  ASSERT_THAT(configured, SizeIs(3));
  EXPECT_EQ(configured[0].id(), "whisper-1");
  EXPECT_THAT(configured[0].capabilities(),
              Contains(v1::CAPABILITY_TRANSCRIBE));
  EXPECT_EQ(configured[1].protocol(), "openai_chat_audio");
  EXPECT_THAT(configured[1].capabilities(),
              Contains(v1::CAPABILITY_AUDIO_CHAT));
  EXPECT_EQ(configured[2].pool(), "llm");
  EXPECT_TRUE(configured[2].available());
}

// Three sentences with 1.2 s pauses as 16 kHz mono PCM, and where speech is.
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
