#include "tests/rpc/rpc_test_fixture.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/audio_fixtures.h"
#include "tests/eventually.h"
#include "tests/http_get.h"
#include "upstream/http_client.h"

namespace voxgate::testing {
namespace {

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

}  // namespace

void RpcTest::SetUp() {
  auto audio = FakeUpstream::Start();
  ASSERT_TRUE(audio.ok()) << audio.status();
  audio_ = std::move(*audio);
  auto text = FakeUpstream::Start();
  ASSERT_TRUE(text.ok()) << text.status();
  text_ = std::move(*text);
  const std::string yaml = absl::StrReplaceAll(
      kConfig, {{"AUDIO", absl::StrCat("http://127.0.0.1:", audio_->port())},
                {"TEXT", absl::StrCat("http://127.0.0.1:", text_->port())}});
  auto gateway = GatewayProcess::Start(yaml);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  gateway_ = std::move(*gateway);
  stub_ = v1::VoxgateService::NewStub(gateway_->channel());
}

v1::ChatRequest RpcTest::Hello(const std::string& text) {
  v1::ChatRequest request;
  v1::ChatMessage* message = request.add_messages();
  message->set_role(v1::ROLE_USER);
  message->add_content()->set_text(text);
  return request;
}

std::string RpcTest::Trailer(const grpc::ClientContext& context,
                             const std::string& key) {
  auto it = context.GetServerTrailingMetadata().find(key);
  return it == context.GetServerTrailingMetadata().end()
             ? ""
             : std::string(it->second.data(), it->second.size());
}

bool RpcTest::StreamsActiveBecomes(int count) const {
  auto http = upstream::HttpClient::Create();
  if (!http.ok()) return false;
  const std::string url =
      absl::StrCat("http://127.0.0.1:", gateway_->admin_port(), "/metrics");
  const std::string line =
      absl::StrCat("\nvoxgate_streams_active ", count, "\n");
  return Eventually([&] {
    auto response = HttpGet(**http, url);
    return response.ok() && absl::StrContains(response->body, line);
  });
}

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

}  // namespace voxgate::testing
