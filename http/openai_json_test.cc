#include "http/openai_json.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/http_errors.h"
#include "http/openai_transcription_form.h"

namespace voxgate::http {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;
using json = nlohmann::json;

TEST(OpenAiJsonTest, MapsMessagesPartsToolsAndGeneration) {
  const json body = {
      {"model", "m"},
      {"messages",
       {{{"role", "system"}, {"content", "be brief"}},
        {{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "what is said?"}},
           {{"type", "input_audio"},
            {"input_audio", {{"data", "UklGRg=="}, {"format", "wav"}}}}}}},
        {{"role", "assistant"},
         {"content", nullptr},
         {"tool_calls",
          {{{"id", "c1"},
            {"type", "function"},
            {"function", {{"name", "f"}, {"arguments", "{}"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "42"}}}},
      {"temperature", 0.5},
      {"max_tokens", 7},
      {"stop", "END"},
      {"response_format",
       {{"type", "json_schema"},
        {"json_schema", {{"name", "s"}, {"schema", {{"type", "object"}}}}}}},
      {"tools",
       {{{"type", "function"},
         {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}}}}},
      {"tool_choice", "required"},
      {"stream", true},
      {"stream_options", {{"include_usage", true}}},
      {"top_k", 5}};
  auto request = ChatRequestFromJson(body.dump());
  ASSERT_THAT(request, IsOk());
  EXPECT_TRUE(request->stream);
  EXPECT_TRUE(request->include_usage);
  const v1::ChatRequest& chat = request->chat;
  EXPECT_EQ(chat.model(), "m");
  ASSERT_EQ(chat.messages_size(), 4);
  EXPECT_EQ(chat.messages(1).content(1).audio().content(), "RIFF");
  EXPECT_EQ(chat.messages(2).tool_calls(0).name(), "f");
  EXPECT_EQ(chat.messages(3).role(), v1::ROLE_TOOL);
  EXPECT_EQ(chat.messages(3).tool_call_id(), "c1");
  EXPECT_FLOAT_EQ(chat.generation().temperature(), 0.5f);
  EXPECT_EQ(chat.generation().max_tokens(), 7);
  EXPECT_EQ(chat.generation().stop(0), "END");
  EXPECT_EQ(chat.generation().response_format().type(),
            v1::RESPONSE_FORMAT_TYPE_JSON_SCHEMA);
  EXPECT_EQ(json::parse(chat.generation().response_format().json_schema()),
            json({{"type", "object"}}));
  EXPECT_EQ(chat.tool_choice().mode(), v1::TOOL_CHOICE_MODE_REQUIRED);
  EXPECT_EQ(chat.backend_options().at("top_k"), "5");
}

TEST(OpenAiJsonTest, ErrorsNameTheFieldAsOpenAiCallersSpellIt) {
  EXPECT_THAT(
      ChatRequestFromJson("[]"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON object")));
  EXPECT_THAT(ChatRequestFromJson(R"({"messages": [{"role": "user", "content": [
          {"type": "input_audio", "input_audio": {"data": "!!"}}]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("messages[0].content[0].input_audio.data")));
  EXPECT_THAT(ChatRequestFromJson(R"({"messages": [{"role": "robot"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("messages[0].role")));
  EXPECT_THAT(ChatRequestFromJson(R"({"messages": [], "n": 2})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("n:")));
}

TEST(OpenAiJsonTest, CompletionAndChunksHaveOpenAisShape) {
  v1::ChatResponse response;
  response.set_content("hi");
  response.set_finish_reason(v1::FINISH_REASON_LENGTH);
  response.set_model("m");
  response.set_request_id("r1");
  response.mutable_usage()->set_input_tokens(3);
  response.mutable_usage()->set_output_tokens(2);
  response.mutable_usage()->set_total_tokens(5);
  const json completion = ChatCompletionJson(response, 100);
  EXPECT_EQ(completion["id"], "chatcmpl-r1");
  EXPECT_EQ(completion["choices"][0]["message"]["content"], "hi");
  EXPECT_EQ(completion["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(completion["usage"]["total_tokens"], 5);

  v1::ChatChunk chunk;
  chunk.set_delta("he");
  const json first = ChatChunkJson(chunk, "r1", "m", 100, true);
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(first["choices"][0]["delta"]["content"], "he");
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  v1::ChatChunk last;
  last.set_finish_reason(v1::FINISH_REASON_STOP);
  EXPECT_EQ(
      ChatChunkJson(last, "r1", "m", 100, false)["choices"][0]["finish_reason"],
      "stop");
}

TEST(OpenAiJsonTest, TranscriptionFormsAndBodies) {
  TranscriptionForm form;
  form.response_format = "verbose_json";
  form.language = "en";
  form.timestamp_granularities = {"word"};
  auto config = RecognitionFromForm(form, false);
  ASSERT_THAT(config, IsOk());
  EXPECT_TRUE(config->enable_segment_timestamps());
  EXPECT_TRUE(config->enable_word_timestamps());
  EXPECT_EQ(config->language_codes(0), "en");
  form.response_format = "mp3";
  EXPECT_THAT(RecognitionFromForm(form, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("response_format")));
  form.response_format = "srt";
  v1::TranscribeResponse response;
  response.set_text("hello");
  response.set_srt("1\n00:00:00,000 --> 00:00:01,000\nhello\n");
  EXPECT_EQ(TranscriptionResponseBody(response, form, false).body,
            response.srt());
  form.response_format = "text";
  EXPECT_EQ(TranscriptionResponseBody(response, form, false).body, "hello\n");
}

TEST(HttpErrorsTest, StatusesFollowTheGrpcCodes) {
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kCancelled), 499);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInternal), 500);
  const HttpResponse limited =
      ErrorResponse(absl::ResourceExhaustedError("too many calls"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_THAT(limited.headers,
              ::testing::Contains(
                  std::pair<std::string, std::string>("retry-after", "1")));
  const json body = json::parse(limited.body);
  EXPECT_EQ(body["error"]["message"], "too many calls");
  EXPECT_EQ(body["error"]["code"], "resource_exhausted");
  EXPECT_EQ(WebSocketCloseCodeFor(absl::StatusCode::kOk), 1000);
  EXPECT_EQ(WebSocketCloseCodeFor(absl::StatusCode::kUnauthenticated), 1008);
  EXPECT_EQ(WebSocketCloseCodeFor(absl::StatusCode::kInternal), 1011);
  EXPECT_EQ(WebSocketCloseCodeFor(absl::StatusCode::kInvalidArgument), 4003);
}

}  // namespace
}  // namespace voxgate::http
