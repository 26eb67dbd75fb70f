// The libcurl client against the fake upstream over real loopback sockets.

#include "upstream/http_client.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fake_upstream/fake_upstream.h"

namespace voxgate::upstream {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::FakeBehavior;
using ::voxgate::testing::FakeRequest;
using ::voxgate::testing::FakeUpstream;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = FakeUpstream::Start();
    ASSERT_THAT(fake, IsOk());
    fake_ = std::move(*fake);
    auto client = HttpClient::Create();
    ASSERT_THAT(client, IsOk());
    client_ = std::move(*client);
  }

  HttpRequest Get(const std::string& path) {
    HttpRequest request;
    request.method = "GET";
    request.url = absl::StrCat("http://127.0.0.1:", fake_->port(), path);
    return request;
  }

  HttpRequest PostChat(const nlohmann::json& body) {
    HttpRequest request;
    request.url = fake_->base_url() + "/chat/completions";
    request.headers = {{"Content-Type", "application/json"}};
    request.body = body.dump();
    return request;
  }

  absl::StatusOr<HttpResponse> FetchAndWait(HttpRequest request) {
    absl::StatusOr<HttpResponse> result = absl::UnknownError("no answer");
    absl::Notification done;
    client_->Fetch(std::move(request),
                   [&](absl::StatusOr<HttpResponse> response) {
                     result = std::move(response);
                     done.Notify();
                   });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return result;
  }

  std::unique_ptr<FakeUpstream> fake_;
  std::unique_ptr<HttpClient> client_;
};

nlohmann::json StreamingChat() {
  return {{"model", "m"},
          {"stream", true},
          {"messages", {{{"role", "user"}, {"content", "hello"}}}}};
}

TEST_F(HttpClientTest, FetchesAWholeResponse) {
  auto response = FetchAndWait(Get("/v1/models"));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 200);
  EXPECT_EQ(response->Header("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(response->body)["data"][0]["id"],
            "fake-model");
}

TEST_F(HttpClientTest, HttpErrorStatusIsAResponseNotATransportError) {
  FakeBehavior unavailable;
  unavailable.status = 503;
  unavailable.retry_after_seconds = 2;
  fake_->SetDefault(unavailable);
  auto response = FetchAndWait(Get("/v1/models"));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 503);
  EXPECT_EQ(response->Header("retry-after"), "2");
  EXPECT_THAT(response->body, HasSubstr("server_error"));
}

TEST_F(HttpClientTest, SendsHeadersAndBodyAsGiven) {
  HttpRequest request = PostChat(
      {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  request.headers.emplace_back("x-request-id", "req-42");
  auto response = FetchAndWait(std::move(request));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 200);
  const FakeRequest recorded = fake_->Requests().at(0);
  EXPECT_EQ(recorded.wire.Header("x-request-id"), "req-42");
  EXPECT_EQ(recorded.json["messages"][0]["content"], "hi");
  EXPECT_EQ(recorded.wire.Header("expect"), "");
}

TEST_F(HttpClientTest, MultipartFieldsArriveIntact) {
  HttpRequest request;
  request.url = fake_->base_url() + "/audio/transcriptions";
  const std::string binary("\0\1\2RIFF\r\n--x", 12);
  request.form = {{"model", "whisper-1", "", ""},
                  {"timestamp_granularities[]", "word", "", ""},
                  {"timestamp_granularities[]", "segment", "", ""},
                  {"file", binary, "audio.wav", "audio/wav"}};
  auto response = FetchAndWait(std::move(request));
  ASSERT_THAT(response, IsOk());
  const FakeRequest recorded = fake_->Requests().at(0);
  EXPECT_EQ(recorded.FormValue("model"), "whisper-1");
  EXPECT_THAT(recorded.FormValues("timestamp_granularities[]"),
              ::testing::ElementsAre("word", "segment"));
  ASSERT_EQ(recorded.form.size(), 4u);
  EXPECT_EQ(recorded.form[3].filename, "audio.wav");
  EXPECT_EQ(recorded.form[3].content_type, "audio/wav");
  EXPECT_EQ(recorded.form[3].value, binary);
}

TEST_F(HttpClientTest, ReusesOneConnectionForSequentialRequests) {
  for (int i = 0; i < 10; ++i)
    ASSERT_THAT(FetchAndWait(Get("/health")), IsOk());
  EXPECT_EQ(fake_->connections_accepted(), 1);
}

TEST_F(HttpClientTest, RefusedConnectionIsUnavailable) {
  HttpRequest request = Get("/health");
  request.url = "http://127.0.0.1:1/health";
  EXPECT_THAT(
      FetchAndWait(std::move(request)),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot connect")));
}

TEST_F(HttpClientTest, DeadlineShorterThanLatencyEndsWithinTheDeadline) {
  FakeBehavior slow;
  slow.latency = absl::Seconds(5);
  fake_->SetDefault(slow);
  HttpRequest request = Get("/v1/models");
  const absl::Time start = absl::Now();
  request.deadline = start + absl::Milliseconds(200);
  auto response = FetchAndWait(std::move(request));
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(response, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                 HasSubstr("within the deadline")));
  // Ended by the deadline, not by the upstream's answer five seconds later
  // (no tighter bound: CI machines are busy).
  EXPECT_LT(took, absl::Seconds(4));
  EXPECT_TRUE(fake_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return requests.size() == 1 && requests[0].client_closed_early;
      },
      absl::Seconds(5)));
}

TEST_F(HttpClientTest, ResetBeforeAnyByteSaysSo) {
  FakeBehavior reset;
  reset.reset_before_response = true;
  fake_->SetDefault(reset);
  EXPECT_THAT(FetchAndWait(Get("/v1/models")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("before any response byte")));
}

TEST_F(HttpClientTest, ResetMidBodySaysSo) {
  FakeBehavior reset;
  reset.reset_after_body_bytes = 10;
  fake_->SetDefault(reset);
  EXPECT_THAT(
      FetchAndWait(Get("/v1/models")),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("mid-response")));
}

TEST_F(HttpClientTest, StalledStreamFailsAfterTheStallTimeout) {
  FakeBehavior trickle;
  trickle.chunk_interval = absl::Seconds(4);
  fake_->SetDefault(trickle);
  HttpRequest request = PostChat(StreamingChat());
  request.stall_timeout = absl::Seconds(1);
  EXPECT_THAT(FetchAndWait(std::move(request)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("stalled")));
}

TEST_F(HttpClientTest, ASlowFirstByteIsNotAStall) {
  // A model thinking for a second before its first token: the stall timeout
  // counts only between bytes (it used to count from the Unix epoch and fail
  // any stream whose first byte took over 100 ms).
  FakeBehavior thinking;
  thinking.latency = absl::Seconds(1);
  fake_->SetDefault(thinking);
  HttpRequest request = PostChat(StreamingChat());
  request.stall_timeout = absl::Milliseconds(300);
  auto response = FetchAndWait(std::move(request));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 200);
  EXPECT_THAT(response->body, HasSubstr("[DONE]"));
}

TEST_F(HttpClientTest, NoFirstByteFailsAfterTheFirstByteTimeout) {
  FakeBehavior hang;
  hang.hang = true;
  fake_->SetDefault(hang);
  HttpRequest request = PostChat(StreamingChat());
  request.first_byte_timeout = absl::Milliseconds(300);
  request.stall_timeout = absl::Minutes(5);
  EXPECT_THAT(FetchAndWait(std::move(request)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("no response byte within 300ms "
                                 "(first_byte_timeout)")));
  // The fake saw the gateway give up.
  EXPECT_TRUE(fake_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return requests.size() == 1 && requests[0].client_closed_early;
      },
      absl::Seconds(30)));
}

// Records what a streaming consumer sees; can pause after the first piece.
class RecordingObserver final : public ResponseObserver {
 public:
  explicit RecordingObserver(bool pause_after_first)
      : pause_(pause_after_first) {}
  void OnHeaders(int status_code, const HttpHeaders&) override {
    status_ = status_code;
  }
  bool OnData(absl::string_view data) override {
    bytes_ += data.size();
    pieces_++;
    first_piece_.Notify_once();
    return !(pause_ && pieces_ == 1);
  }
  void OnDone(absl::Status status) override {
    result_ = status;
    done_.Notify();
  }

  struct OnceNotification : absl::Notification {
    void Notify_once() {
      if (!HasBeenNotified()) Notify();
    }
  };
  bool pause_;
  int status_ = 0;
  std::atomic<std::size_t> bytes_{0};
  std::atomic<int> pieces_{0};
  OnceNotification first_piece_;
  absl::Notification done_;
  absl::Status result_;
};

TEST_F(HttpClientTest, CancelMidStreamClosesTheConnection) {
  FakeBehavior slow_stream;
  slow_stream.chunk_interval = absl::Milliseconds(200);
  slow_stream.text = "one two three four five six seven eight nine ten";
  fake_->SetDefault(slow_stream);
  auto observer = std::make_shared<RecordingObserver>(false);
  auto transfer = client_->Start(PostChat(StreamingChat()), observer);
  ASSERT_TRUE(
      observer->first_piece_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  transfer->Cancel();
  ASSERT_TRUE(
      observer->done_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(observer->result_,
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("cancelled")));
  EXPECT_TRUE(fake_->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return requests.size() == 1 && requests[0].client_closed_early;
      },
      absl::Seconds(5)));
  EXPECT_EQ(client_->active_transfers(), 0);
}

TEST_F(HttpClientTest, PausedConsumerPausesTheTransferUntilResumed) {
  FakeBehavior long_stream;
  std::string text;
  for (int i = 0; i < 3000; ++i) absl::StrAppend(&text, "token", i, " ");
  long_stream.text = text;
  fake_->SetDefault(long_stream);
  auto observer = std::make_shared<RecordingObserver>(true);
  auto transfer = client_->Start(PostChat(StreamingChat()), observer);
  ASSERT_TRUE(
      observer->first_piece_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::SleepFor(
      absl::Milliseconds(300));  // time for more bytes to arrive if unpaused
  EXPECT_EQ(observer->pieces_.load(), 1);
  EXPECT_FALSE(observer->done_.HasBeenNotified());
  const std::size_t bytes_while_paused = observer->bytes_.load();
  EXPECT_LE(bytes_while_paused, 64u * 1024);

  transfer->Resume();
  ASSERT_TRUE(
      observer->done_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(observer->result_, IsOk());
  EXPECT_GT(observer->bytes_.load(), 300u * 1024);
}

}  // namespace
}  // namespace voxgate::upstream
