// voxgate-cli, the real binary, against the real gateway process and the fake
// upstream: every command, its output formats, --help and exit codes.

#include <stdio.h>
#include <sys/wait.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/audio_fixtures.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/gateway_process.h"

namespace voxgate::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kConfig[] = R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "FAKE/v1"}]
    models: [whisper-1]
    health_check: {path: ""}
  - name: voxtral
    protocol: openai_chat_audio
    endpoints: [{url: "FAKE/v1"}]
    models: [voxtral]
    health_check: {path: ""}
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "FAKE/v1"}]
    models: [llama3]
    health_check: {path: ""}
routing:
  audio_pool: whisper
  text_pool: llm
)";

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = FakeUpstream::Start().value().release();
    auto gateway = GatewayProcess::Start(absl::StrReplaceAll(
        kConfig, {{"FAKE", absl::StrCat("http://127.0.0.1:", fake_->port())}}));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = gateway->release();
    speech_ = TempPath("speech.wav");
    const std::string pause = SilenceWav(0.8, 16000);
    WriteBytes(speech_,
               ConcatWav({pause, SpeechWav("Please call Stella."), pause,
                          SpeechWav("We need a snake."), pause}));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }
  void SetUp() override {
    fake_->ClearScripts();
    fake_->SetDefault(FakeBehavior());
  }

  // Runs voxgate-cli with `args` (shell words) against the gateway.
  static CliResult Cli(const std::string& args,
                       const std::string& address = "") {
    const std::string err = TempPath("cli.err");
    const std::string command = absl::StrCat(
        "client/cpp/voxgate-cli --address=",
        address.empty() ? absl::StrCat("127.0.0.1:", gateway_->port())
                        : address,
        " ", args, " 2>", err);
    CliResult result;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    std::size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
      result.out.append(buffer, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.err = ReadBytes(err);
    return result;
  }

  static FakeUpstream* fake_;
  static GatewayProcess* gateway_;
  static std::string speech_;
};

FakeUpstream* CliTest::fake_ = nullptr;
GatewayProcess* CliTest::gateway_ = nullptr;
std::string CliTest::speech_;

TEST_F(CliTest, ModelsListsEveryPoolAsTableAndJson) {
  CliResult table = Cli("models");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, AllOf(HasSubstr("whisper-1"), HasSubstr("voxtral"),
                               HasSubstr("llama3"), HasSubstr("transcribe")));
  CliResult json = Cli("--json models");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json parsed = nlohmann::json::parse(json.out);
  // The configured three, and perhaps what the fake reports besides.
  int configured = 0;
  for (const nlohmann::json& model : parsed.at("models")) {
    configured += model.value("configured", false);
  }
  EXPECT_EQ(configured, 3);
}

TEST_F(CliTest, TranscribePrintsTextSubtitlesOrJson) {
  CliResult text = Cli("transcribe " + speech_);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  // The fake describes the audio it received: 16 kHz mono.
  EXPECT_THAT(text.out, HasSubstr("at 16000 Hz 1 ch"));

  CliResult srt = Cli("transcribe --format=srt " + speech_);
  ASSERT_EQ(srt.exit_code, 0) << srt.err;
  EXPECT_THAT(srt.out, AllOf(HasSubstr("1\n00:00:0"), HasSubstr(" --> ")));
  CliResult vtt = Cli("transcribe --format vtt " + speech_);
  ASSERT_EQ(vtt.exit_code, 0) << vtt.err;
  EXPECT_THAT(vtt.out, HasSubstr("WEBVTT"));

  CliResult json = Cli("transcribe --format=json " + speech_);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json parsed = nlohmann::json::parse(json.out);
  EXPECT_THAT(parsed.at("text").get<std::string>(), HasSubstr("frames"));
  EXPECT_FALSE(parsed.at("request_id").get<std::string>().empty());
}

TEST_F(CliTest, ChatStreamsTheAnswerAndUnaryWorksToo) {
  FakeBehavior reply;
  reply.text = "Stella will bring the snake.";
  fake_->SetDefault(reply);
  CliResult streamed = Cli("chat Who brings the snake?");
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_EQ(streamed.out, "Stella will bring the snake.\n");
  EXPECT_TRUE(fake_->Requests("/v1/chat/completions")
                  .back()
                  .json.value("stream", false));
  CliResult unary = Cli("chat --no-stream --system=terse hi");
  ASSERT_EQ(unary.exit_code, 0) << unary.err;
  EXPECT_EQ(unary.out, "Stella will bring the snake.\n");
  const nlohmann::json sent =
      fake_->Requests("/v1/chat/completions").back().json;
  EXPECT_EQ(sent.at("messages")[0].at("role"), "system");
}

TEST_F(CliTest, AnalyzeAnswersAboutTheAudio) {
  FakeBehavior reply;
  reply.text = "A request to call Stella.";
  fake_->SetDefault(reply);
  CliResult direct =
      Cli("analyze --model=voxtral " + speech_ + " 'Summarise.'");
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(direct.out, "A request to call Stella.\n");
}

TEST_F(CliTest, StreamPrintsOneFinalLinePerUtterance) {
  CliResult streamed = Cli("stream --speed=0 --no-interim " + speech_);
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  std::vector<std::string> lines =
      absl::StrSplit(streamed.out, '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(2)) << streamed.out;
  EXPECT_THAT(lines[0], HasSubstr("[   0."));
  EXPECT_THAT(lines[1], HasSubstr("frames at 16000 Hz"));

  CliResult json = Cli("--json stream --speed=4 " + speech_);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  int finals = 0;
  for (absl::string_view line :
       absl::StrSplit(json.out, '\n', absl::SkipEmpty())) {
    const nlohmann::json response = nlohmann::json::parse(line);
    finals += response.contains("result") &&
              response.at("result").value("is_final", false);
  }
  EXPECT_EQ(finals, 2);
}

TEST_F(CliTest, ExitCodesFollowTheGrpcCode) {
  FakeBehavior refused;
  refused.status = 400;
  fake_->SetDefault(refused);
  CliResult invalid = Cli("chat hello");
  EXPECT_EQ(invalid.exit_code, 3) << invalid.err;  // INVALID_ARGUMENT
  EXPECT_THAT(invalid.err, HasSubstr("error: "));

  CliResult unreachable = Cli("--timeout=2s models", "127.0.0.1:1");
  EXPECT_EQ(unreachable.exit_code, 14) << unreachable.err;  // UNAVAILABLE

  EXPECT_EQ(Cli("transcribe /nonexistent.wav").exit_code, 66);
  CliResult usage = Cli("transcribe --bogus x");
  EXPECT_EQ(usage.exit_code, 64);
  EXPECT_THAT(usage.err, HasSubstr("--bogus"));
  EXPECT_EQ(Cli("frobnicate").exit_code, 64);
}

TEST_F(CliTest, EveryCommandHasHelp) {
  CliResult top = Cli("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("Exit codes"));
  for (const char* command :
       {"transcribe", "stream", "chat", "analyze", "models"}) {
    CliResult help = Cli(absl::StrCat(command, " --help"));
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.out,
                HasSubstr(absl::StrCat("Usage: voxgate-cli ", command)));
  }
}

}  // namespace
}  // namespace voxgate::testing
