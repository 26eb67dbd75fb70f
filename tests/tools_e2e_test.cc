// Tool calling through the real voxgate process and a real gRPC client, with
// the fake upstream playing the model: the two-turn round trip (the model asks
// for a call, the caller answers it, the model answers in text) by Chat, by
// ChatStream and by Analyze.

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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
using Json = nlohmann::json;

constexpr char kConfig[] = R"(
pools:
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "TEXT/v1", max_concurrency: 8}]
    models: [llama3]
    health_check: {path: ""}
routing:
  text_pool: llm
)";

class ToolsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    text_ = FakeUpstream::Start().value().release();
    auto gateway = GatewayProcess::Start(absl::StrReplaceAll(
        kConfig, {{"TEXT", absl::StrCat("http://127.0.0.1:", text_->port())}}));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = gateway->release();
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete text_;
  }
  void SetUp() override {
    text_->ClearRequests();
    stub_ = v1::VoxgateService::NewStub(gateway_->channel());
  }

  static void DeclareWeatherTool(
      google::protobuf::RepeatedPtrField<v1::Tool>& tools) {
    v1::Tool* tool = tools.Add();
    tool->set_name("get_weather");
    tool->set_description("The weather in a city now.");
    tool->set_parameters_json(
        R"({"type":"object","properties":{"text":{"type":"string"}}})");
  }

  static v1::ChatRequest WeatherQuestion() {
    v1::ChatRequest request;
    v1::ChatMessage* user = request.add_messages();
    user->set_role(v1::ROLE_USER);
    user->add_content()->set_text("weather in Oslo");
    DeclareWeatherTool(*request.mutable_tools());
    return request;
  }

  // The second turn: the model's call sent back, and the tool's result.
  static void AnswerCall(const v1::ToolCall& call, v1::ChatRequest& request) {
    v1::ChatMessage* assistant = request.add_messages();
    assistant->set_role(v1::ROLE_ASSISTANT);
    *assistant->add_tool_calls() = call;
    v1::ChatMessage* result = request.add_messages();
    result->set_role(v1::ROLE_TOOL);
    result->set_tool_call_id(call.id());
    result->add_content()->set_text("-3 C, snow");
  }

  static FakeUpstream* text_;
  static GatewayProcess* gateway_;
  std::unique_ptr<v1::VoxgateService::Stub> stub_;
};

FakeUpstream* ToolsTest::text_ = nullptr;
GatewayProcess* ToolsTest::gateway_ = nullptr;

TEST_F(ToolsTest, ChatRoundTripCallThenResultThenAnswer) {
  v1::ChatRequest request = WeatherQuestion();
  request.mutable_tool_choice()->set_mode(v1::TOOL_CHOICE_MODE_REQUIRED);
  request.mutable_generation()->set_temperature(0.7f);
  v1::ChatResponse first;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->Chat(&context, request, &first);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(first.finish_reason(), v1::FINISH_REASON_TOOL_CALLS);
  ASSERT_EQ(first.tool_calls_size(), 1);
  const v1::ToolCall& call = first.tool_calls(0);
  EXPECT_EQ(call.name(), "get_weather");
  EXPECT_FALSE(call.id().empty());
  EXPECT_EQ(Json::parse(call.arguments()), Json({{"text", "weather in Oslo"}}));
  // What the upstream got: OpenAI's tools, tool_choice, and 0.7 as written.
  const FakeRequest asked = text_->Requests("/v1/chat").at(0);
  EXPECT_EQ(asked.json["tools"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(asked.json["tool_choice"], "required");
  EXPECT_TRUE(absl::StrContains(asked.wire.body, "\"temperature\":0.7,"))
      << asked.wire.body;

  AnswerCall(call, request);
  request.clear_tool_choice();
  v1::ChatResponse second;
  grpc::ClientContext context;
  grpc::Status status = stub_->Chat(&context, request, &second);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(second.finish_reason(), v1::FINISH_REASON_STOP);
  EXPECT_EQ(second.tool_calls_size(), 0);
  EXPECT_EQ(second.content(),
            absl::StrCat("tool ", call.id(), " said: -3 C, snow"));
  const Json sent = text_->Requests("/v1/chat").at(1).json["messages"];
  EXPECT_EQ(sent[1]["tool_calls"][0]["id"], call.id());
  EXPECT_EQ(sent[1]["tool_calls"][0]["function"]["arguments"],
            call.arguments());
  EXPECT_EQ(sent[2]["role"], "tool");
  EXPECT_EQ(sent[2]["tool_call_id"], call.id());
}

TEST_F(ToolsTest, ChatStreamCarriesToolCallDeltasInOpenAiShape) {
  grpc::ClientContext context;
  auto reader = stub_->ChatStream(&context, WeatherQuestion());
  v1::ChatChunk chunk;
  std::string id, name, arguments;
  int pieces = 0;
  v1::FinishReason finish = v1::FINISH_REASON_UNSPECIFIED;
  while (reader->Read(&chunk)) {
    for (const v1::ToolCallDelta& piece : chunk.tool_calls()) {
      EXPECT_EQ(piece.index(), 0);
      id += piece.id();
      name += piece.name();
      arguments += piece.arguments();
      ++pieces;
    }
    if (chunk.finish_reason() != v1::FINISH_REASON_UNSPECIFIED)
      finish = chunk.finish_reason();
  }
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(pieces, 3);  // name first, then the arguments in pieces
  EXPECT_EQ(name, "get_weather");
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(Json::parse(arguments), Json({{"text", "weather in Oslo"}}));
  EXPECT_EQ(finish, v1::FINISH_REASON_TOOL_CALLS);
}

TEST_F(ToolsTest, AnalyzePassesHistoryAndToolsAndReportsStageTimes) {
  v1::AnalyzeRequest request;
  request.mutable_audio()->set_content(SpeechWav("what is the weather"));
  request.set_instruction("Answer the question.");
  request.set_mode(v1::ANALYZE_MODE_CASCADE);
  v1::ChatMessage* earlier = request.add_history();
  earlier->set_role(v1::ROLE_USER);
  earlier->add_content()->set_text("I live in Oslo.");
  DeclareWeatherTool(*request.mutable_tools());
  v1::AnalyzeResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->Analyze(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.finish_reason(), v1::FINISH_REASON_TOOL_CALLS);
  ASSERT_EQ(response.tool_calls_size(), 1);
  EXPECT_EQ(response.tool_calls(0).name(), "get_weather");
  EXPECT_FALSE(response.transcript().empty());
  const auto nanos = [](const google::protobuf::Duration& d) {
    return d.seconds() * 1000000000 + d.nanos();
  };
  EXPECT_GT(nanos(response.transcription_time()), 0);
  EXPECT_GT(nanos(response.model_time()), 0);
  const Json messages = text_->Requests("/v1/chat").at(0).json["messages"];
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0]["content"], "I live in Oslo.");
  EXPECT_THAT(messages[1]["content"].get<std::string>(),
              HasSubstr("Answer the question."));
}

TEST_F(ToolsTest, BadToolRequestsAreRefusedNamingTheField) {
  v1::ChatRequest request = WeatherQuestion();
  request.mutable_tool_choice()->set_function_name("get_time");
  v1::ChatResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->Chat(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("tool_choice.function_name: \"get_time\""));
  EXPECT_TRUE(text_->Requests().empty());
}

}  // namespace
}  // namespace voxgate::testing
