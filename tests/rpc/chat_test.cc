// Chat and ChatStream through the real voxgate process: pass-through,
// documented error codes, streaming relay and cancellation.

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

}  // namespace
}  // namespace voxgate::testing
