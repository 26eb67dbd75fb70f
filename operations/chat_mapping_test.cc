#include "operations/chat_mapping.h"

#include <functional>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::operations {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

v1::ChatRequest UserSays(const std::string& text) {
  v1::ChatRequest request;
  v1::ChatMessage* message = request.add_messages();
  message->set_role(v1::ROLE_USER);
  message->add_content()->set_text(text);
  return request;
}

absl::StatusOr<upstream::ChatRequest> Map(const v1::ChatRequest& request) {
  std::vector<std::pair<int, int>> to_convert;
  return ChatRequestFor(request, to_convert);
}

TEST(ChatMappingTest, SamplingValuesAreTheDecimalsTheCallerMeant) {
  v1::ChatRequest request = UserSays("hi");
  request.mutable_generation()->set_temperature(0.7f);
  request.mutable_generation()->set_top_p(0.9f);
  request.mutable_generation()->set_presence_penalty(-1.1f);
  auto chat = Map(request);
  ASSERT_THAT(chat, IsOk());
  // Exactly the doubles 0.7, 0.9, -1.1: what JSON then prints as "0.7".
  EXPECT_EQ(*chat->params.temperature, 0.7);
  EXPECT_EQ(*chat->params.top_p, 0.9);
  EXPECT_EQ(*chat->params.presence_penalty, -1.1);
  EXPECT_FALSE(chat->params.frequency_penalty.has_value());
}

TEST(ChatMappingTest, ToolsToolChoiceAndToolTurnsMap) {
  v1::ChatRequest request = UserSays("weather?");
  v1::ChatMessage* assistant = request.add_messages();
  assistant->set_role(v1::ROLE_ASSISTANT);
  v1::ToolCall* call = assistant->add_tool_calls();
  call->set_id("c1");
  call->set_name("get_weather");
  call->set_arguments(R"({"city":"Oslo"})");
  v1::ChatMessage* result = request.add_messages();
  result->set_role(v1::ROLE_TOOL);
  result->set_tool_call_id("c1");
  result->add_content()->set_text("-3 C");
  v1::Tool* tool = request.add_tools();
  tool->set_name("get_weather");
  tool->set_parameters_json(R"({"type":"object"})");
  request.mutable_tool_choice()->set_function_name("get_weather");
  request.set_parallel_tool_calls(true);

  auto chat = Map(request);
  ASSERT_THAT(chat, IsOk());
  ASSERT_EQ(chat->messages.size(), 3u);
  EXPECT_TRUE(chat->messages[1].parts.empty());
  ASSERT_EQ(chat->messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(chat->messages[1].tool_calls[0].arguments, R"({"city":"Oslo"})");
  EXPECT_EQ(chat->messages[2].tool_call_id, "c1");
  ASSERT_EQ(chat->tools.size(), 1u);
  EXPECT_EQ(chat->tools[0].name, "get_weather");
  EXPECT_EQ(chat->tool_choice_function, "get_weather");
  EXPECT_EQ(chat->parallel_tool_calls, true);
}

TEST(ChatMappingTest, BadToolRequestsNameTheField) {
  struct Case {
    std::string what;
    std::function<void(v1::ChatRequest&)> spoil;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"bad name",
       [](v1::ChatRequest& r) { r.add_tools()->set_name("get weather"); },
       "tools[0].name: must match"},
      {"twice",
       [](v1::ChatRequest& r) {
         r.add_tools()->set_name("f");
         r.add_tools()->set_name("f");
       },
       "tools[1].name: \"f\" is declared twice"},
      {"schema not JSON",
       [](v1::ChatRequest& r) {
         v1::Tool* tool = r.add_tools();
         tool->set_name("f");
         tool->set_parameters_json("{nope");
       },
       "tools[0].parameters_json: not a JSON document"},
      {"choice without tools",
       [](v1::ChatRequest& r) {
         r.mutable_tool_choice()->set_mode(v1::TOOL_CHOICE_MODE_REQUIRED);
       },
       "tool_choice: requires tools"},
      {"unknown function",
       [](v1::ChatRequest& r) {
         r.add_tools()->set_name("f");
         r.mutable_tool_choice()->set_function_name("g");
       },
       "tool_choice.function_name: \"g\" is not one of the tools"},
      {"tool result without id",
       [](v1::ChatRequest& r) {
         v1::ChatMessage* m = r.add_messages();
         m->set_role(v1::ROLE_TOOL);
         m->add_content()->set_text("x");
       },
       "messages[1].tool_call_id: is required"},
      {"user message with tool calls",
       [](v1::ChatRequest& r) {
         v1::ToolCall* call = r.mutable_messages(0)->add_tool_calls();
         call->set_id("c");
         call->set_name("f");
       },
       "messages[0].tool_calls: only assistant messages carry them"},
      {"empty assistant",
       [](v1::ChatRequest& r) {
         r.add_messages()->set_role(v1::ROLE_ASSISTANT);
       },
       "messages[1].content: at least one part is required"},
      {"tools in backend_options",
       [](v1::ChatRequest& r) {
         (*r.mutable_backend_options())["tools"] = "[]";
       },
       "backend_options.tools: is set by the gateway"},
      {"a NUL in a backend_options key (a second model field upstream)",
       [](v1::ChatRequest& r) {
         (*r.mutable_backend_options())[std::string("model\0", 6)] = "x";
       },
       "backend_options[\"model\\x00\"]: keys may hold only letters"},
      {"backend_options nested too deep",
       [](v1::ChatRequest& r) {
         (*r.mutable_backend_options())["x"] =
             std::string(100, '[') + std::string(100, ']');
       },
       "backend_options.x: JSON nested deeper than 32 levels"},
  };
  for (const Case& c : cases) {
    v1::ChatRequest request = UserSays("hi");
    c.spoil(request);
    EXPECT_THAT(Map(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(c.message)))
        << c.what;
  }
}

TEST(ChatMappingTest, ModelDefaultsFillOnlyWhatTheRequestLeavesUnset) {
  config::v1::Config config;
  config::v1::PoolConfig* pool = config.add_pools();
  pool->set_name("llm");
  pool->add_models("llama3");
  config::v1::ModelDefaults& llama =
      (*pool->mutable_model_defaults())["llama3"];
  llama.set_temperature(0.7f);
  llama.set_max_tokens(64);
  llama.set_system_prompt("Be brief.");
  (*pool->mutable_model_defaults())[""].set_top_p(0.5f);

  // The pool's default model (the request names none): its entry.
  auto chat = Map(UserSays("hi"));
  ASSERT_THAT(chat, IsOk());
  ApplyModelDefaults(config, "llm", "", *chat);
  EXPECT_EQ(*chat->params.temperature, 0.7);
  EXPECT_EQ(*chat->params.max_tokens, 64);
  EXPECT_FALSE(chat->params.top_p.has_value());
  ASSERT_EQ(chat->messages.size(), 2u);
  EXPECT_EQ(chat->messages[0].role, "system");
  EXPECT_EQ(chat->messages[0].parts[0].text, "Be brief.");

  // The request's own values win, and its own system message stays alone.
  v1::ChatRequest own = UserSays("hi");
  own.mutable_generation()->set_temperature(0.1f);
  v1::ChatMessage* system = own.add_messages();
  system->set_role(v1::ROLE_SYSTEM);
  system->add_content()->set_text("Be long.");
  auto explicit_chat = Map(own);
  ASSERT_THAT(explicit_chat, IsOk());
  ApplyModelDefaults(config, "llm", "llama3", *explicit_chat);
  EXPECT_EQ(*explicit_chat->params.temperature, 0.1);
  EXPECT_EQ(explicit_chat->messages.size(), 2u);

  // Another model: the "" entry.
  auto other = Map(UserSays("hi"));
  ASSERT_THAT(other, IsOk());
  ApplyModelDefaults(config, "llm", "qwen3", *other);
  EXPECT_EQ(*other->params.top_p, 0.5);
  EXPECT_FALSE(other->params.temperature.has_value());
}

TEST(ChatMappingTest, ToolCallsFillTheResponse) {
  google::protobuf::RepeatedPtrField<v1::ToolCall> calls;
  FillToolCalls({{"a", "f", "{}"}, {"b", "g", "[1]"}}, calls);
  ASSERT_EQ(calls.size(), 2);
  EXPECT_EQ(calls[1].id(), "b");
  EXPECT_EQ(calls[1].name(), "g");
  EXPECT_EQ(calls[1].arguments(), "[1]");
  google::protobuf::RepeatedPtrField<v1::ToolCallDelta> deltas;
  FillToolCallDeltas({{2, "", "", "ab"}}, deltas);
  ASSERT_EQ(deltas.size(), 1);
  EXPECT_EQ(deltas[0].index(), 2);
  EXPECT_EQ(deltas[0].arguments(), "ab");
  EXPECT_EQ(FinishReasonFor("tool_calls"), v1::FINISH_REASON_TOOL_CALLS);
}

}  // namespace
}  // namespace voxgate::operations
