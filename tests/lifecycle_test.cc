// The calls' lifecycle at chosen points, in process, against fake backends
// that hold every request until the test answers or the call cancels it
// (upstream/fake_backends.h): cancels while waiting for admission, while the
// upstream works, answers out of order.

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "config/config.h"
#include "gateway/gateway_server.h"
#include "tests/audio_fixtures.h"
#include "tests/call_mix.h"
#include "tests/http_get.h"
#include "upstream/fake_backends.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::server {
namespace {

using ::voxgate::testing::IsOk;

class LifecycleTest : public ::testing::Test {
 protected:
  void StartServer(absl::string_view yaml = "") {
    auto config = LoadConfigFromYaml(yaml, {{"listen", "127.0.0.1:0"},
                                            {"admin_listen", "127.0.0.1:0"},
                                            {"http_listen", "127.0.0.1:0"}});
    ASSERT_THAT(config, IsOk());
    gateway::GatewayServer::Options options;
    options.routing = &routing_;
    auto server = gateway::GatewayServer::Start(*config, logger_, options);
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
    stub_ = v1::VoxgateService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials()));
    auto http = upstream::HttpClient::Create();
    ASSERT_THAT(http, IsOk());
    http_ = std::move(*http);
  }

  // The value of the first series in /metrics whose line starts with
  // `series` (a bare name is matched whole).
  std::string Gauge(const std::string& series) {
    auto response = voxgate::testing::HttpGet(
        *http_,
        absl::StrCat("http://127.0.0.1:", server_->admin_port(), "/metrics"));
    if (!response.ok()) return "unreadable";
    const std::string start =
        "\n" + series + (series.find('{') == std::string::npos ? " " : "");
    const std::size_t at = response->body.find(start);
    if (at == std::string::npos) return "absent";
    const std::size_t end = response->body.find('\n', at + 1);
    const std::size_t space = response->body.rfind(' ', end);
    return response->body.substr(space + 1, end - space - 1);
  }
  // Waits for a gauge to read `value` (it is updated as calls end).
  bool GaugeBecomes(const std::string& name, const std::string& value) {
    for (int i = 0; i < 1500; ++i) {
      if (Gauge(name) == value) return true;
      absl::SleepFor(absl::Milliseconds(20));  // polling a gauge
    }
    return false;
  }

  static v1::ChatRequest Hello() {
    v1::ChatRequest request;
    v1::ChatMessage* message = request.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text("hello");
    return request;
  }

  // A ChatStream read to its end on a thread of its own.
  struct Streamed {
    grpc::ClientContext context;
    std::string text;
    grpc::Status status;
    absl::Notification done;
    std::thread thread;
    ~Streamed() {
      if (thread.joinable()) thread.join();
    }
  };
  void StartChatStream(Streamed& call) {
    call.context.set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    call.thread = std::thread([this, &call] {
      auto reader = stub_->ChatStream(&call.context, Hello());
      v1::ChatChunk chunk;
      while (reader->Read(&chunk)) call.text += chunk.delta();
      call.status = reader->Finish();
      call.done.Notify();
    });
  }

  Logger logger_{LogLevel::kWarning};
  upstream::FakeRouting routing_;
  std::unique_ptr<gateway::GatewayServer> server_;
  std::unique_ptr<v1::VoxgateService::Stub> stub_;
  std::unique_ptr<upstream::HttpClient> http_;
};

TEST_F(LifecycleTest, CancelsReachTheCallWhereverItWaits) {
  StartServer("limits: {max_concurrent_calls: 1, admission_wait: 30s}");
  upstream::FakeChatBackend& chat = routing_.chat();
  // A holds the only call slot, its upstream stream held by the fake.
  Streamed a;
  StartChatStream(a);
  ASSERT_TRUE(chat.streams.WaitFor(1));
  // B waits for admission; cancelled there, it ends without reaching the
  // backend.
  Streamed b;
  StartChatStream(b);
  // B has reached the gateway (counted as started) and waits for admission.
  ASSERT_TRUE(GaugeBecomes(
      "grpc_server_started_total{grpc_method=\"ChatStream\"", "2"));
  ASSERT_TRUE(GaugeBecomes("voxgate_calls_in_flight", "1"));
  b.context.TryCancel();
  ASSERT_TRUE(b.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(b.status.error_code(), grpc::StatusCode::CANCELLED);
  // The client knows at once; the gateway once it has ended the call.
  const std::string cancelled_streams =
      "grpc_server_handled_total{grpc_code=\"Canceled\",grpc_method="
      "\"ChatStream\"";
  ASSERT_TRUE(GaugeBecomes(cancelled_streams, "1"));
  EXPECT_EQ(chat.streams.size(), 1);
  // A, cancelled while its upstream works: the upstream is cancelled, once.
  a.context.TryCancel();
  ASSERT_TRUE(a.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(GaugeBecomes(cancelled_streams, "2"));
  ASSERT_TRUE(GaugeBecomes("voxgate_calls_in_flight", "0"));
  EXPECT_EQ(chat.streams.cancelled(), 1);
  EXPECT_FALSE(chat.EndStream(0, {}, absl::OkStatus()));  // already over
  // The slot is free again: C gets it and its answer.
  Streamed c;
  StartChatStream(c);
  ASSERT_TRUE(chat.streams.WaitFor(2));
  upstream::ChatDelta hello;
  hello.content = "hi there";
  ASSERT_TRUE(chat.EndStream(1, {hello}, absl::OkStatus()));
  ASSERT_TRUE(c.done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(c.status.ok()) << c.status.error_message();
  EXPECT_EQ(c.text, "hi there");
}

TEST_F(LifecycleTest, ACancelledChatCancelsItsUpstreamAndNothingAnswersIt) {
  StartServer();
  upstream::FakeChatBackend& chat = routing_.chat();
  grpc::ClientContext context;
  const v1::ChatRequest request = Hello();
  v1::ChatResponse response;
  grpc::Status status;
  absl::Notification done;
  stub_->async()->Chat(&context, &request, &response, [&](grpc::Status s) {
    status = s;
    done.Notify();
  });
  ASSERT_TRUE(chat.completions.WaitFor(1));
  context.TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(GaugeBecomes("voxgate_calls_in_flight", "0"));
  EXPECT_EQ(chat.completions.cancelled(), 1);
  EXPECT_FALSE(chat.Answer(0, upstream::ChatCompletion()));
}

// Utterances answered in reverse order still come out in order, and a cancel
// with utterances in flight cancels each of them.
TEST_F(LifecycleTest, StreamResultsKeepUtteranceOrderAndCancelsReachEach) {
  StartServer();
  upstream::FakeTranscriptionBackend& backend = routing_.transcription();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
  auto stream = stub_->StreamTranscribe(&context);
  v1::StreamTranscribeRequest config;
  config.mutable_config()->mutable_format()->set_encoding(
      v1::AUDIO_ENCODING_WAV);
  ASSERT_TRUE(stream->Write(config));
  const std::string pause = voxgate::testing::SilenceWav(1.0, 16000);
  const std::string wav = voxgate::testing::ConcatWav(
      {voxgate::testing::SpeechWav("Please call Stella."), pause,
       voxgate::testing::SpeechWav("Ask her to bring these things."), pause,
       voxgate::testing::SpeechWav("We also need a snake."), pause});
  ASSERT_TRUE(voxgate::testing::WriteAudio(*stream, wav, 8000));
  ASSERT_TRUE(backend.requests.WaitFor(3));
  upstream::Transcription second, first;
  second.text = "second";
  first.text = "first";
  ASSERT_TRUE(backend.Answer(1, second));
  ASSERT_TRUE(backend.Answer(0, first));
  std::vector<std::string> finals;
  v1::StreamTranscribeResponse response;
  while (finals.size() < 2 && stream->Read(&response)) {
    if (response.result().is_final())
      finals.push_back(response.result().text());
  }
  EXPECT_EQ(finals, (std::vector<std::string>{"first", "second"}));
  // The third is still with the backend: the cancel reaches it.
  context.TryCancel();
  while (stream->Read(&response)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(GaugeBecomes("voxgate_streams_active", "0"));
  EXPECT_EQ(backend.requests.cancelled(), 1);
  EXPECT_EQ(backend.requests.open(), 0);
}

}  // namespace
}  // namespace voxgate::server
