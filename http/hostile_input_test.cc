// Caller input that once ended the process (issue 27), each as its own case,
// and a sweep that puts every JSON type at every field of a full request: the
// mappings answer OK or INVALID_ARGUMENT naming the field, and never throw.

#include <functional>
#include <string>
#include <vector>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/http_errors.h"
#include "http/multipart.h"
#include "http/openai_json.h"
#include "http/openai_transcription_form.h"
#include "http/stream_messages.h"

namespace voxgate::http {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;
using json = nlohmann::json;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

json FullRequest() {
  return json::parse(R"({
    "model": "m", "stream": true, "stream_options": {"include_usage": true},
    "messages": [
      {"role": "system", "content": "be brief", "name": "n"},
      {"role": "user", "content": [
        {"type": "text", "text": "hi"},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==",
                                                "format": "wav"}},
        {"type": "image_url", "image_url": {"url": "u", "detail": "low"}}]},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "c1", "type": "function",
         "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "42"}],
    "temperature": 0.5, "top_p": 1, "presence_penalty": 0,
    "frequency_penalty": 0, "max_tokens": 7, "max_completion_tokens": 7,
    "seed": 1, "stop": ["END"], "n": 1, "parallel_tool_calls": true,
    "response_format": {"type": "json_schema", "json_schema": {
      "name": "s", "strict": true, "schema": {"type": "object"}}},
    "tools": [{"type": "function", "function": {
      "name": "f", "description": "d", "strict": true,
      "parameters": {"type": "object"}}}],
    "tool_choice": {"type": "function", "function": {"name": "f"}}})");
}

TEST(HostileInputTest, IncludeUsageThatIsNotABooleanIsRefusedByName) {
  json body = FullRequest();
  body["stream_options"]["include_usage"] = 1;
  EXPECT_THAT(ChatRequestFromJson(body.dump()),
              StatusIs(kInvalid, HasSubstr("stream_options.include_usage: "
                                           "must be a boolean")));
}

TEST(HostileInputTest, AToolWhoseStrictIsNullIsTakenAsNotStrict) {
  json body = FullRequest();
  body["tools"][0]["function"]["strict"] = nullptr;
  absl::StatusOr<OpenAiChatRequest> request = ChatRequestFromJson(body.dump());
  ASSERT_THAT(request, IsOk());
  EXPECT_FALSE(request->chat.tools(0).strict());
  body["tools"][0]["function"]["strict"] = "yes";
  EXPECT_THAT(ChatRequestFromJson(body.dump()),
              StatusIs(kInvalid, HasSubstr("tools[0].function.strict")));
}

TEST(HostileInputTest, DeepNestingInAnUnknownFieldIsRefusedBeforeAnyTree) {
  std::string body = R"({"model": "m", "messages": [], "extra": )";
  body += std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_THAT(ChatRequestFromJson(body),
              StatusIs(kInvalid, HasSubstr("nested deeper than 64 levels")));
}

TEST(HostileInputTest, TooManyValuesAreRefusedBeforeAnyTree) {
  std::string body = R"({"model": "m", "messages": [], "extra": [)";
  for (int i = 0; i < 200000; ++i) body += "{},";
  body += "{}]}";
  EXPECT_THAT(ChatRequestFromJson(body),
              StatusIs(kInvalid, HasSubstr("more than 100000 values")));
}

TEST(HostileInputTest, AFormFieldThatIsNotUtf8IsRefusedByName) {
  const std::string boundary = "b0undary";
  const std::string body =
      "--" + boundary +
      "\r\nContent-Disposition: form-data; name=\"file\"; "
      "filename=\"a.wav\"\r\n\r\nRIFF\r\n--" +
      boundary +
      "\r\nContent-Disposition: form-data; name=\"response_format\""
      "\r\n\r\n\xff\r\n--" +
      boundary + "--\r\n";
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseFormData("multipart/form-data; boundary=" + boundary, body);
  ASSERT_THAT(parts, IsOk());
  EXPECT_THAT(TranscriptionFormFromParts(*parts, body),
              StatusIs(kInvalid, HasSubstr("response_format: not UTF-8")));
  // And an error that echoes the byte anyway serializes, replaced.
  const HttpResponse error =
      ErrorResponse(absl::InvalidArgumentError("unknown format \"\xff\""));
  EXPECT_EQ(json::parse(error.body)["error"]["message"],
            "unknown format \"\xef\xbf\xbd\"");
}

TEST(HostileInputTest, AWebSocketControlWithANumberTypeIsRefusedByName) {
  EXPECT_THAT(StreamControlFromJson(R"({"type": 1})"),
              StatusIs(kInvalid, HasSubstr("message.type: must be a string")));
  EXPECT_THAT(StreamControlFromJson(R"({"type": "end"})"),
              ::voxgate::testing::IsOkAndHolds(StreamControl::kEnd));
  EXPECT_THAT(StreamControlFromJson(std::string(100000, '[')),
              StatusIs(kInvalid, HasSubstr("nested deeper")));
  EXPECT_THAT(StreamConfigFromJson(R"({"recognition": 7})"),
              StatusIs(kInvalid, HasSubstr("config:")));
}

TEST(HostileInputTest, AFormWithTooManyPartsIsRefused) {
  std::string body;
  for (int i = 0; i < 65; ++i) {
    body += "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n";
  }
  body += "--b--\r\n";
  EXPECT_THAT(ParseFormData("multipart/form-data; boundary=b", body),
              StatusIs(kInvalid, HasSubstr("more than 64 parts")));
}

// Calls `visit` with every value's JSON pointer in `value`.
void ForEachPointer(
    const json& value, const json::json_pointer& at,
    const std::function<void(const json::json_pointer&)>& visit) {
  visit(at);
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      ForEachPointer(child, at / key, visit);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      ForEachPointer(value[i], at / i, visit);
    }
  }
}

TEST(HostileInputTest, EveryTypeAtEveryFieldAnswersOkOrNamesTheField) {
  const json full = FullRequest();
  ASSERT_THAT(ChatRequestFromJson(full.dump()), IsOk());
  const std::vector<json> replacements = {nullptr,
                                          1,
                                          -1,
                                          1.5,
                                          "x",
                                          "\xc3\xa9",
                                          true,
                                          json::array(),
                                          json::object(),
                                          json::array({nullptr}),
                                          json({{"type", nullptr}})};
  int refused = 0, cases = 0;
  ForEachPointer(full, json::json_pointer(), [&](const json::json_pointer& at) {
    for (const json& replacement : replacements) {
      json body = full;
      body[at] = replacement;
      ++cases;
      absl::StatusOr<OpenAiChatRequest> request;
      ASSERT_NO_THROW(request = ChatRequestFromJson(body.dump()))
          << at.to_string() << " = " << replacement.dump();
      if (!request.ok()) {
        ++refused;
        EXPECT_THAT(request.status(), StatusIs(kInvalid, ::testing::_))
            << at.to_string();
      }
    }
  });
  // Most substitutions are wrong types: the sweep really reaches the checks.
  EXPECT_GT(cases, 400);
  EXPECT_GT(refused, cases / 2);
}

}  // namespace
}  // namespace voxgate::http
