// The real voxgate process's log: one JSON line per call at INFO with the
// caller's request id, method, code, durations, pool and audio seconds; never
// the prompt, the audio or the API key.

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/audio_fixtures.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/gateway_process.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kConfig[] = R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "FAKE/v1"}]
    health_check: {path: ""}
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "FAKE/v1"}]
    api_key_file: KEYFILE
    health_check: {path: ""}
routing:
  audio_pool: whisper
  text_pool: llm
)";

constexpr char kKey[] = "sk-test-5f9c2a7e1b";
constexpr char kPrompt[] = "my bank password is hunter2";

// The log's "call" line for `request_id`, parsed; null when absent.
nlohmann::json CallLine(const std::string& log, const std::string& request_id) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_object() && json.value("msg", "") == "call" &&
        json.value("request_id", "") == request_id) {
      return json;
    }
  }
  return nullptr;
}

TEST(LogsTest, OneLinePerCallWithItsFactsAndNoSecretsPromptsOrAudio) {
  auto fake = FakeUpstream::Start();
  ASSERT_TRUE(fake.ok());
  const std::string key_file = TempPath("api-key");
  WriteBytes(key_file, kKey);
  auto gateway = GatewayProcess::Start(absl::StrReplaceAll(
      kConfig, {{"FAKE", absl::StrCat("http://127.0.0.1:", (*fake)->port())},
                {"KEYFILE", key_file}}));
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = v1::VoxgateService::NewStub((*gateway)->channel());

  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "chat-1");
    v1::ChatRequest request;
    v1::ChatMessage* message = request.add_messages();
    message->set_role(v1::ROLE_USER);
    message->add_content()->set_text(kPrompt);
    v1::ChatResponse response;
    ASSERT_TRUE(stub->Chat(&context, request, &response).ok());
  }
  const std::string wav = ToneWav(440, 3.0, 16000, 1);
  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "transcribe-1");
    v1::TranscribeRequest request;
    request.mutable_audio()->set_content(wav);
    v1::TranscribeResponse response;
    ASSERT_TRUE(stub->Transcribe(&context, request, &response).ok());
  }
  // The key was used upstream, with the request id.
  const std::vector<FakeRequest> chats =
      (*fake)->Requests("/v1/chat/completions");
  ASSERT_EQ(chats.size(), 1u);
  EXPECT_EQ(chats[0].wire.Header("authorization"),
            absl::StrCat("Bearer ", kKey));
  EXPECT_EQ(chats[0].wire.Header("x-request-id"), "chat-1");

  // Both lines, whenever the logger's thread writes them.
  ASSERT_TRUE(
      (*gateway)->LogWith("\"request_id\":\"chat-1\"", absl::Seconds(30)).ok());
  absl::StatusOr<std::string> logged =
      (*gateway)->LogWith("\"request_id\":\"transcribe-1\"", absl::Seconds(30));
  ASSERT_TRUE(logged.ok()) << logged.status();
  const std::string log = *logged;
  const nlohmann::json chat = CallLine(log, "chat-1");
  ASSERT_TRUE(chat.is_object()) << log;
  EXPECT_EQ(chat.value("level", ""), "info");
  EXPECT_EQ(chat.value("method", ""), "Chat");
  EXPECT_EQ(chat.value("code", ""), "OK");
  EXPECT_EQ(chat.value("pool", ""), "llm");
  EXPECT_EQ(chat.value("endpoint", ""),
            absl::StrCat("http://127.0.0.1:", (*fake)->port(), "/v1"));
  EXPECT_TRUE(chat.contains("total_ms"));
  EXPECT_TRUE(chat.contains("upstream_ms"));
  const nlohmann::json transcribe = CallLine(log, "transcribe-1");
  ASSERT_TRUE(transcribe.is_object()) << log;
  EXPECT_EQ(transcribe.value("method", ""), "Transcribe");
  EXPECT_EQ(transcribe.value("pool", ""), "whisper");
  EXPECT_NEAR(transcribe.value("audio_seconds", 0.0), 3.0, 0.01);
  EXPECT_EQ(transcribe.value("chunks", 0), 1);

  EXPECT_THAT(log, Not(HasSubstr(kKey)));
  EXPECT_THAT(log, Not(HasSubstr("hunter2")));
  // Neither raw nor base64 audio: the WAV header's text is absent too.
  EXPECT_THAT(log, Not(HasSubstr("RIFF")));
  EXPECT_THAT(log, Not(HasSubstr("UklGR")));
}

// The slot a call waits for at its pool is queue time, and a call whose
// deadline passed is logged as DEADLINE_EXCEEDED, not CANCELLED.
TEST(LogsTest, SlotWaitIsQueueTimeAndAPassedDeadlineIsNamed) {
  auto fake = FakeUpstream::Start();
  ASSERT_TRUE(fake.ok());
  const std::string key_file = TempPath("api-key-2");
  WriteBytes(key_file, kKey);
  // One slot on the text pool (its endpoint line is the one before the key).
  const std::string config = absl::StrReplaceAll(
      absl::StrReplaceAll(
          kConfig, {{"\"FAKE/v1\"}]\n    api_key_file",
                     "\"FAKE/v1\", max_concurrency: 1}]\n    api_key_file"}}),
      {{"FAKE", absl::StrCat("http://127.0.0.1:", (*fake)->port())},
       {"KEYFILE", key_file}});
  auto gateway = GatewayProcess::Start(config);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = v1::VoxgateService::NewStub((*gateway)->channel());
  v1::ChatRequest request;
  v1::ChatMessage* message = request.add_messages();
  message->set_role(v1::ROLE_USER);
  message->add_content()->set_text("hi");

  // The first call holds the only slot for 3 s; the second, answered at once
  // upstream, waits for it.
  FakeBehavior slow;
  slow.latency = absl::Seconds(3);
  (*fake)->Script("/v1/chat", slow, 1);
  grpc::ClientContext first_context;
  v1::ChatResponse first_response;
  absl::Notification first_done;
  stub->async()->Chat(&first_context, &request, &first_response,
                      [&](grpc::Status) { first_done.Notify(); });
  // The second call starts once the first holds the slot upstream.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while ((*fake)->in_flight() == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ((*fake)->in_flight(), 1);
  grpc::ClientContext second_context;
  v1::ChatResponse second_response;
  ASSERT_TRUE(stub->Chat(&second_context, request, &second_response).ok());
  first_done.WaitForNotification();
  auto trailer = [&](const char* key) {
    auto it = second_context.GetServerTrailingMetadata().find(key);
    return std::stod(std::string(it->second.data(), it->second.size()));
  };
  // Before the fix, the wait showed as upstream time with queue ~0.
  EXPECT_GT(trailer("voxgate-queue-ms"), trailer("voxgate-upstream-ms"));

  // A deadline shorter than the upstream's answer.
  (*fake)->SetDefault(slow);
  grpc::ClientContext late;
  late.AddMetadata("x-request-id", "late-1");
  late.set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(300));
  v1::ChatResponse late_response;
  EXPECT_EQ(stub->Chat(&late, request, &late_response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  absl::StatusOr<std::string> logged =
      (*gateway)->LogWith("\"request_id\":\"late-1\"", absl::Seconds(30));
  ASSERT_TRUE(logged.ok()) << logged.status();
  EXPECT_EQ(CallLine(*logged, "late-1").value("code", ""), "DEADLINE_EXCEEDED")
      << *logged;
}

}  // namespace
}  // namespace voxgate::testing
