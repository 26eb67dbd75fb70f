// A whole gateway in this process on a ManualClock: its timeouts (a default
// deadline on each door, a stream's idle timeout, a retry's backoff) move
// only when the test moves the clock. Each is far longer than the test may
// run in real time, so a timeout read from the real clock fails the test
// instead of passing slowly.

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/manual_clock.h"
#include "common/status_matchers.h"
#include "config/config.h"
#include "gateway/gateway_server.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/eventually.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "upstream/http_client.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;

constexpr char kConfig[] = R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "UPSTREAM"}]
    models: [whisper-1]
    health_check: {path: ""}
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "UPSTREAM"}]
    models: [llama3]
    health_check: {path: ""}
routing:
  audio_pool: whisper
  text_pool: llm
limits:
  default_unary_deadline: 1h
  stream_idle_timeout: 10m
)";

// What the test's real-time waits are bounded by: a hang, never a margin.
constexpr absl::Duration kHang = absl::Seconds(60);

// A Chat in flight on the callback API. Its end is awaited before the test's
// locals go, even when an assertion returns early.
class AsyncChat {
 public:
  AsyncChat(v1::VoxgateService::Stub& stub, v1::ChatRequest request)
      : request_(std::move(request)) {
    stub.async()->Chat(&context_, &request_, &response_,
                       [this](grpc::Status s) {
                         status_ = std::move(s);
                         answered_.Notify();
                       });
  }
  ~AsyncChat() {
    context_.TryCancel();
    answered_.WaitForNotification();
  }
  bool answered() const { return answered_.HasBeenNotified(); }
  bool Await() { return answered_.WaitForNotificationWithTimeout(kHang); }
  const grpc::Status& status() const { return status_; }
  const v1::ChatResponse& response() const { return response_; }

 private:
  grpc::ClientContext context_;  // no deadline: limits.default_unary_deadline
  const v1::ChatRequest request_;
  v1::ChatResponse response_;
  grpc::Status status_;
  absl::Notification answered_;
};

class ManualClockGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto upstream = FakeUpstream::Start();
    ASSERT_THAT(upstream.status(), IsOk());
    upstream_ = std::move(*upstream);
    auto config = LoadConfigFromYaml(
        absl::StrReplaceAll(kConfig, {{"UPSTREAM", upstream_->base_url()}}),
        {{"listen", "127.0.0.1:0"},
         {"admin_listen", "127.0.0.1:0"},
         {"http_listen", "127.0.0.1:0"}});
    ASSERT_THAT(config.status(), IsOk());
    config_ = *std::move(config);
    gateway::GatewayServer::Options options;
    options.clock = &clock_;
    auto gateway = gateway::GatewayServer::Start(config_, logger_, options);
    ASSERT_THAT(gateway.status(), IsOk());
    gateway_ = std::move(*gateway);
    stub_ = v1::VoxgateService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", gateway_->port()),
                            grpc::InsecureChannelCredentials()));
  }

  static v1::ChatRequest Hello() {
    v1::ChatRequest request;
    request.set_model("llama3");
    v1::ChatMessage* message = request.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text("hello");
    return request;
  }
  // Moves the clock `step` at a time until `done` holds (the step after the
  // one that should end it is harmless: nothing else is pending).
  bool AdvanceUntil(absl::Duration step, const std::function<bool()>& done) {
    return Eventually(
        [&] {
          if (done()) return true;
          clock_.Advance(step);
          return false;
        },
        kHang, absl::Milliseconds(20));
  }

  ManualClock clock_{absl::Now()};
  Logger logger_{LogLevel::kError};
  std::unique_ptr<FakeUpstream> upstream_;
  Config config_;
  std::unique_ptr<gateway::GatewayServer> gateway_;
  std::unique_ptr<v1::VoxgateService::Stub> stub_;
};

TEST_F(ManualClockGatewayTest, AChatWithoutADeadlineEndsAtTheDefaultOne) {
  FakeBehavior hang;
  hang.hang = true;
  upstream_->SetDefault(hang);
  AsyncChat chat(*stub_, Hello());
  ASSERT_TRUE(Eventually([&] { return upstream_->in_flight() == 1; }, kHang));
  clock_.Advance(absl::Minutes(59));  // not yet
  EXPECT_FALSE(chat.answered());
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(chat.Await());
  EXPECT_EQ(chat.status().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << chat.status().error_message();
  // The upstream request was closed with the call.
  EXPECT_TRUE(Eventually([&] { return upstream_->in_flight() == 0; }, kHang));
}

TEST_F(ManualClockGatewayTest, AnHttpChatWithoutADeadlineEndsAtTheDefaultOne) {
  FakeBehavior hang;
  hang.hang = true;
  upstream_->SetDefault(hang);
  // Before the client: its end may still deliver a cancel into these.
  absl::Notification answered;
  absl::StatusOr<upstream::HttpResponse> response;
  auto http = upstream::HttpClient::Create();
  ASSERT_THAT(http.status(), IsOk());
  upstream::HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", gateway_->http_port(),
                             "/v1/chat/completions");
  request.headers = {{"Content-Type", "application/json"}};
  request.body =
      R"({"model": "llama3", "messages": [{"role": "user", "content": "hi"}]})";
  request.deadline = absl::Now() + kHang;
  (*http)->Fetch(std::move(request),
                 [&](absl::StatusOr<upstream::HttpResponse> got) {
                   response = std::move(got);
                   answered.Notify();
                 });
  ASSERT_TRUE(Eventually([&] { return upstream_->in_flight() == 1; }, kHang));
  clock_.Advance(absl::Minutes(61));
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(kHang));
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->status_code, 504) << response->body;
  EXPECT_TRUE(Eventually([&] { return upstream_->in_flight() == 0; }, kHang));
}

TEST_F(ManualClockGatewayTest, AStreamThatSendsNothingEndsAtItsIdleTimeout) {
  grpc::ClientContext context;
  auto stream = stub_->StreamTranscribe(&context);
  v1::StreamTranscribeRequest config;
  config.mutable_config()->mutable_format()->set_encoding(
      v1::AUDIO_ENCODING_LINEAR16);
  config.mutable_config()->mutable_format()->set_sample_rate_hertz(16000);
  config.mutable_config()->mutable_format()->set_channel_count(1);
  ASSERT_TRUE(stream->Write(config));
  absl::Notification ended;
  std::thread reader([&] {
    v1::StreamTranscribeResponse response;
    while (stream->Read(&response)) {
    }
    ended.Notify();
  });
  // The idle time counts from when the gateway began waiting for the next
  // message, which the test cannot see: move the clock a minute at a time.
  EXPECT_TRUE(
      AdvanceUntil(absl::Minutes(1), [&] { return ended.HasBeenNotified(); }));
  reader.join();
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("idle"));
}

TEST_F(ManualClockGatewayTest, ARetryWaitsTheUpstreamsRetryAfterOnTheClock) {
  FakeBehavior busy;
  busy.status = 503;
  busy.retry_after_seconds = 600;  // ten minutes
  upstream_->Script("/v1/chat", busy);
  AsyncChat chat(*stub_, Hello());
  ASSERT_TRUE(upstream_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        int chats = 0;  // (the gateway also asks for /v1/models)
        for (const FakeRequest& request : requests) {
          chats += request.wire.path == "/v1/chat/completions";
        }
        return chats == 1;
      },
      kHang));
  EXPECT_FALSE(chat.answered());  // waiting out the ten minutes
  // The gateway schedules the retry when it has read the 503, which the test
  // cannot see: move the clock a minute at a time until the answer.
  ASSERT_TRUE(AdvanceUntil(absl::Minutes(1), [&] { return chat.answered(); }));
  ASSERT_TRUE(chat.status().ok()) << chat.status().error_message();
  EXPECT_EQ(chat.response().content(), "echo: hello");
  EXPECT_EQ(upstream_->Requests("/v1/chat").size(), 2u);
}

}  // namespace
}  // namespace voxgate::testing
