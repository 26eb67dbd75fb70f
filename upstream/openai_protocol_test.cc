// Request shapes checked field by field as the fake upstream receives them, and
// response parsing of the fake's OpenAI/vLLM-shaped answers, over real sockets.

#include "upstream/openai_protocol.h"

#include "absl/strings/escaping.h"
#include "absl/synchronization/notification.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/audio_fixtures.h"
#include "tests/fake_upstream/fake_upstream.h"

namespace voxgate::upstream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::voxgate::testing::FakeBehavior;
using ::voxgate::testing::FakeRequest;
using ::voxgate::testing::FakeUpstream;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::IsOkAndHolds;
using ::voxgate::testing::StatusIs;
using Json = nlohmann::json;

// A 0.5 s, 16 kHz mono WAV of silence.
std::string TinyWav() { return testing::SilenceWav(0.5, 16000); }

class OpenAiProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = FakeUpstream::Start();
    ASSERT_THAT(fake, IsOk());
    fake_ = std::move(*fake);
    auto client = HttpClient::Create();
    ASSERT_THAT(client, IsOk());
    client_ = std::move(*client);
  }

  HttpResponse Send(HttpRequest request) {
    absl::StatusOr<HttpResponse> result = absl::UnknownError("no answer");
    absl::Notification done;
    client_->Fetch(std::move(request),
                   [&](absl::StatusOr<HttpResponse> response) {
                     result = std::move(response);
                     done.Notify();
                   });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : HttpResponse();
  }

  static std::vector<SseEvent> Events(const std::string& body) {
    std::vector<SseEvent> events;
    SseParser parser([&](const SseEvent& event) { events.push_back(event); });
    parser.Feed(body);
    return events;
  }

  std::unique_ptr<FakeUpstream> fake_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(OpenAiProtocolTest, TranscriptionMultipartHasEveryOpenAiField) {
  TranscriptionRequest request;
  request.audio = TinyWav();
  request.language = "en-US";
  request.prompt = "Voxgate, gRPC";
  request.temperature = 0.2f;
  request.want_segments = true;
  request.want_words = true;
  request.extra_fields = {{"hotwords", "Voxgate"}};
  HttpResponse response = Send(
      TranscriptionHttpRequest(fake_->base_url(), request, "whisper-large-v3"));
  ASSERT_EQ(response.status_code, 200) << response.body;

  const FakeRequest recorded = fake_->Requests().at(0);
  EXPECT_EQ(recorded.wire.path, "/v1/audio/transcriptions");
  ASSERT_EQ(recorded.form.size(), 9u);
  EXPECT_EQ(recorded.form[0].name, "file");
  EXPECT_EQ(recorded.form[0].filename, "audio.wav");
  EXPECT_EQ(recorded.form[0].content_type, "audio/wav");
  EXPECT_EQ(recorded.form[0].value, request.audio);
  EXPECT_EQ(recorded.FormValue("model"), "whisper-large-v3");
  EXPECT_EQ(recorded.FormValue("language"), "en");
  EXPECT_EQ(recorded.FormValue("prompt"), "Voxgate, gRPC");
  EXPECT_EQ(recorded.FormValue("temperature"), "0.2");
  EXPECT_EQ(recorded.FormValue("response_format"), "verbose_json");
  EXPECT_THAT(recorded.FormValues("timestamp_granularities[]"),
              ElementsAre("segment", "word"));
  EXPECT_EQ(recorded.FormValue("hotwords"), "Voxgate");
  EXPECT_EQ(recorded.audio.at(0).sample_rate, 16000);
  EXPECT_EQ(recorded.audio.at(0).frames, 8000);

  auto transcription = ParseTranscription(response.body);
  ASSERT_THAT(transcription, IsOk());
  EXPECT_EQ(transcription->text,
            "audio 8000 frames at 16000 Hz 1 ch crc 577ce78d");
  EXPECT_EQ(transcription->language, "english");
  EXPECT_DOUBLE_EQ(transcription->duration_seconds, 0.5);
  ASSERT_EQ(transcription->segments.size(), 1u);
  EXPECT_DOUBLE_EQ(transcription->segments[0].end_seconds, 0.5);
  ASSERT_EQ(transcription->words.size(), 10u);
  EXPECT_EQ(transcription->words[0].word, "audio");
  EXPECT_DOUBLE_EQ(transcription->words.back().end_seconds, 0.5);
  EXPECT_EQ(transcription->usage.audio_seconds, 1);
}

TEST_F(OpenAiProtocolTest, PlainTranscriptionAsksForJsonOnly) {
  TranscriptionRequest request;
  request.audio = TinyWav();
  request.model = "explicit";
  HttpResponse response =
      Send(TranscriptionHttpRequest(fake_->base_url(), request, "x"));
  const FakeRequest recorded = fake_->Requests().at(0);
  EXPECT_EQ(recorded.FormValue("model"), "explicit");
  EXPECT_EQ(recorded.FormValue("response_format"), "json");
  EXPECT_TRUE(recorded.FormValues("timestamp_granularities[]").empty());
  EXPECT_TRUE(recorded.FormValues("language").empty());
  // A json (not verbose) answer is exactly {"text": ...}.
  const Json answer = Json::parse(response.body);
  EXPECT_EQ(answer.size(), 1u);
  EXPECT_TRUE(answer["text"].is_string());
}

TEST_F(OpenAiProtocolTest, TranslationGoesToTheTranslationsRoute) {
  TranscriptionRequest request;
  request.audio = TinyWav();
  request.translate = true;
  request.language = "de";
  const HttpRequest http =
      TranscriptionHttpRequest("http://h/v1", request, "whisper-1");
  EXPECT_EQ(http.url, "http://h/v1/audio/translations");
  for (const FormField& field : http.form) EXPECT_NE(field.name, "language");
}

TEST_F(OpenAiProtocolTest, ChatBodyMatchesTheOpenAiShape) {
  ChatRequest request;
  request.messages.push_back(
      ChatMessage::Of("system", {ChatPart::Text("Be brief.")}));
  ChatMessage user = ChatMessage::Of(
      "user", {ChatPart::Text("What is said?"), ChatPart::Audio("abc", "mp3")});
  user.name = "ana";
  request.messages.push_back(user);
  request.params.temperature = 0.5;
  request.params.top_p = 0.9;
  request.params.max_tokens = 64;
  request.params.stop = {"\n\n"};
  request.params.seed = 7;
  request.params.presence_penalty = 0.25;
  request.params.frequency_penalty = -0.5;
  request.params.response_format = "json_schema";
  request.params.json_schema_name = "answer";
  request.params.json_schema = R"({"type":"object"})";
  request.params.json_schema_strict = true;
  request.params.extra = {{"top_k", "40"}, {"user_tag", "blue"}};
  auto http =
      ChatHttpRequest(fake_->base_url(), request, "llama3", /*stream=*/true);
  ASSERT_THAT(http, IsOk());
  Send(*http);

  const Json body = fake_->Requests().at(0).json;
  const Json expected = {
      {"model", "llama3"},
      {"messages",
       {{{"role", "system"}, {"content", "Be brief."}},
        {{"role", "user"},
         {"name", "ana"},
         {"content",
          {{{"type", "text"}, {"text", "What is said?"}},
           {{"type", "input_audio"},
            {"input_audio",
             {{"data", absl::Base64Escape("abc")}, {"format", "mp3"}}}}}}}}},
      {"temperature", 0.5},
      {"top_p", 0.9},
      {"max_tokens", 64},
      {"stop", {"\n\n"}},
      {"seed", 7},
      {"presence_penalty", 0.25},
      {"frequency_penalty", -0.5},
      {"response_format",
       {{"type", "json_schema"},
        {"json_schema",
         {{"name", "answer"},
          {"schema", {{"type", "object"}}},
          {"strict", true}}}}},
      {"top_k", 40},
      {"user_tag", "blue"},
      {"stream", true},
      {"stream_options", {{"include_usage", true}}}};
  EXPECT_EQ(body, expected) << body.dump(2);
  EXPECT_EQ(fake_->Requests().at(0).wire.Header("content-type"),
            "application/json");
}

TEST_F(OpenAiProtocolTest, ToolsAndToolTurnsHaveTheOpenAiShape) {
  ChatRequest request;
  request.messages.push_back(
      ChatMessage::Of("user", {ChatPart::Text("Weather in Paris?")}));
  ChatMessage assistant = ChatMessage::Of("assistant", {});
  assistant.tool_calls = {{"call_1", "get_weather", R"({"city":"Paris"})"}};
  request.messages.push_back(assistant);
  ChatMessage result = ChatMessage::Of("tool", {ChatPart::Text("18 C")});
  result.tool_call_id = "call_1";
  request.messages.push_back(result);
  request.tools = {
      {"get_weather", "Current weather",
       R"({"type":"object","properties":{"city":{"type":"string"}}})", true},
      {"no_args", "", "", false}};
  request.tool_choice_function = "get_weather";
  request.parallel_tool_calls = false;
  auto http = ChatHttpRequest(fake_->base_url(), request, "m", false);
  ASSERT_THAT(http, IsOk());
  HttpResponse response = Send(*http);

  const Json body = fake_->Requests().at(0).json;
  EXPECT_EQ(body["messages"][1],
            Json({{"role", "assistant"},
                  {"content", nullptr},
                  {"tool_calls",
                   {{{"id", "call_1"},
                     {"type", "function"},
                     {"function",
                      {{"name", "get_weather"},
                       {"arguments", R"({"city":"Paris"})"}}}}}}}))
      << body.dump(2);
  EXPECT_EQ(body["messages"][2], Json({{"role", "tool"},
                                       {"content", "18 C"},
                                       {"tool_call_id", "call_1"}}));
  EXPECT_EQ(body["tools"][0],
            Json({{"type", "function"},
                  {"function",
                   {{"name", "get_weather"},
                    {"description", "Current weather"},
                    {"parameters",
                     {{"type", "object"},
                      {"properties", {{"city", {{"type", "string"}}}}}}},
                    {"strict", true}}}}));
  // A tool without parameters still declares an (empty) object schema, which
  // llama-server's templates require.
  EXPECT_EQ(body["tools"][1]["function"]["parameters"],
            Json({{"type", "object"}, {"properties", Json::object()}}));
  EXPECT_EQ(
      body["tool_choice"],
      Json({{"type", "function"}, {"function", {{"name", "get_weather"}}}}));
  EXPECT_EQ(body["parallel_tool_calls"], false);
  // The last message is a tool result, so the fake answers it in text.
  auto completion = ParseChatCompletion(response.body);
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->content, "tool call_1 said: 18 C");
  EXPECT_TRUE(completion->tool_calls.empty());
}

TEST_F(OpenAiProtocolTest, ToolCallRepliesParseWholeAndStreamed) {
  ChatRequest request;
  request.messages.push_back(
      ChatMessage::Of("user", {ChatPart::Text("look it up")}));
  request.tools = {{"search", "", "", false}};
  auto completion = ParseChatCompletion(
      Send(*ChatHttpRequest(fake_->base_url(), request, "m", false)).body);
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->finish_reason, "tool_calls");
  ASSERT_EQ(completion->tool_calls.size(), 1u);
  EXPECT_EQ(completion->tool_calls[0].id, "call_fake_0");
  EXPECT_EQ(completion->tool_calls[0].name, "search");
  EXPECT_EQ(Json::parse(completion->tool_calls[0].arguments),
            Json({{"text", "look it up"}}));

  HttpResponse streamed =
      Send(*ChatHttpRequest(fake_->base_url(), request, "m", true));
  ChatStreamDecoder decoder;
  std::vector<ChatDelta> deltas;
  for (const SseEvent& event : Events(streamed.body)) {
    ASSERT_THAT(decoder.Decode(event, deltas), IsOk());
  }
  std::string id, name, arguments, finish;
  for (const ChatDelta& delta : deltas) {
    for (const ToolCallDelta& piece : delta.tool_calls) {
      EXPECT_EQ(piece.index, 0);
      id += piece.id;
      name += piece.name;
      arguments += piece.arguments;
    }
    if (!delta.finish_reason.empty()) finish = delta.finish_reason;
  }
  EXPECT_EQ(id, "call_fake_0");
  EXPECT_EQ(name, "search");
  EXPECT_EQ(arguments, completion->tool_calls[0].arguments);
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(OpenAiProtocolTest, BadJsonSchemaIsTheCallersError) {
  ChatRequest request;
  request.messages.push_back(ChatMessage::Of("user", {ChatPart::Text("hi")}));
  request.params.response_format = "json_schema";
  request.params.json_schema = "{not json";
  EXPECT_THAT(
      ChatHttpRequest("http://h/v1", request, "", false),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("json_schema")));
}

TEST_F(OpenAiProtocolTest,
       ChatAudioTranscriptionCarriesSystemPromptAndInputAudio) {
  TranscriptionRequest transcription;
  transcription.audio = TinyWav();
  transcription.language = "fr-FR";
  auto http =
      ChatHttpRequest(fake_->base_url(),
                      ChatAudioTranscriptionRequest(
                          transcription, kDefaultTranscribeSystemPrompt),
                      "voxtral", false);
  ASSERT_THAT(http, IsOk());
  HttpResponse response = Send(*http);

  const FakeRequest recorded = fake_->Requests().at(0);
  const Json& messages = recorded.json["messages"];
  EXPECT_EQ(messages[0],
            Json({{"role", "system"},
                  {"content",
                   "You are a helpful assistant that transcribes audio."}}));
  EXPECT_EQ(messages[1]["content"][0]["type"], "text");
  EXPECT_THAT(messages[1]["content"][0]["text"].get<std::string>(),
              HasSubstr("(language: fr)"));
  EXPECT_EQ(messages[1]["content"][1]["input_audio"]["format"], "wav");
  EXPECT_EQ(recorded.audio.at(0).frames, 8000);

  auto completion = ParseChatCompletion(response.body);
  ASSERT_THAT(completion, IsOk());
  EXPECT_EQ(completion->content,
            "audio 8000 frames at 16000 Hz 1 ch crc 577ce78d");
  EXPECT_EQ(completion->finish_reason, "stop");
  EXPECT_EQ(completion->model, "voxtral");
  EXPECT_GT(completion->usage.input_tokens, 0);
  EXPECT_EQ(completion->usage.output_tokens, 10);
  EXPECT_EQ(completion->usage.total_tokens,
            completion->usage.input_tokens + completion->usage.output_tokens);
}

TEST_F(OpenAiProtocolTest, ChatStreamDecodesDeltasFinishReasonAndUsage) {
  FakeBehavior reply;
  reply.text = "The quick brown fox";
  fake_->SetDefault(reply);
  ChatRequest request;
  request.messages.push_back(ChatMessage::Of("user", {ChatPart::Text("hi")}));
  HttpResponse response =
      Send(*ChatHttpRequest(fake_->base_url(), request, "m", true));
  EXPECT_EQ(response.Header("content-type"), "text/event-stream");

  ChatStreamDecoder decoder;
  std::vector<ChatDelta> deltas;
  for (const SseEvent& event : Events(response.body)) {
    ASSERT_THAT(decoder.Decode(event, deltas), IsOk());
  }
  EXPECT_TRUE(decoder.done());
  std::string text;
  for (const ChatDelta& delta : deltas) text += delta.content;
  EXPECT_EQ(text, "The quick brown fox");
  ASSERT_GE(deltas.size(), 3u);
  EXPECT_EQ(deltas[deltas.size() - 2].finish_reason, "stop");
  ASSERT_TRUE(deltas.back().usage.has_value());
  EXPECT_EQ(deltas.back().usage->output_tokens, 4);
}

TEST_F(OpenAiProtocolTest, TranscriptionStreamsDecodeInBothDialects) {
  for (const std::string style : {"openai", "vllm"}) {
    FakeBehavior reply;
    reply.text = "hello streaming world";
    reply.stream_style = style;
    fake_->SetDefault(reply);
    TranscriptionRequest request;
    request.audio = TinyWav();
    HttpResponse response = Send(TranscriptionHttpRequest(
        fake_->base_url(), request, "m", /*stream=*/true));
    TranscriptionStreamDecoder decoder;
    std::vector<std::string> deltas;
    std::optional<Transcription> final;
    for (const SseEvent& event : Events(response.body)) {
      ASSERT_THAT(decoder.Decode(event, deltas, final), IsOk()) << style;
    }
    EXPECT_THAT(deltas, ElementsAre("hello ", "streaming ", "world")) << style;
    ASSERT_TRUE(final.has_value()) << style;
    EXPECT_EQ(final->text, "hello streaming world") << style;
  }
}

TEST_F(OpenAiProtocolTest, ModelListParses) {
  fake_->SetModels({"a", "b"});
  EXPECT_THAT(ParseModelList(Send(ModelsHttpRequest(fake_->base_url())).body),
              IsOkAndHolds(ElementsAre("a", "b")));
}

TEST_F(OpenAiProtocolTest,
       MalformedBodiesAreInternalErrorsSayingWhatWasExpected) {
  FakeBehavior broken;
  broken.malformed_json = true;
  fake_->SetDefault(broken);
  TranscriptionRequest request;
  request.audio = TinyWav();
  HttpResponse response =
      Send(TranscriptionHttpRequest(fake_->base_url(), request, "m"));
  EXPECT_THAT(
      ParseTranscription(response.body),
      StatusIs(absl::StatusCode::kInternal,
               HasSubstr("not an OpenAI transcription: {\"text\": \"cut off")));
  EXPECT_THAT(
      ParseChatCompletion(R"({"choices": []})"),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("chat completion")));
  ChatStreamDecoder decoder;
  std::vector<ChatDelta> deltas;
  EXPECT_THAT(decoder.Decode({"message", "{\"choices\": [", ""}, deltas),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("chat.completion.chunk")));
}

TEST(HttpErrorStatusTest, MapsStatusesAndQuotesTheUpstreamMessage) {
  const std::string body =
      R"({"error":{"message":"model is loading","type":"x"}})";
  EXPECT_THAT(
      HttpErrorStatus("pool a endpoint http://e/v1", 503, body),
      StatusIs(
          absl::StatusCode::kUnavailable,
          HasSubstr("pool a endpoint http://e/v1 answered HTTP 503: model is "
                    "loading")));
  EXPECT_EQ(HttpErrorStatus("e", 400, "").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      HttpErrorStatus("e", 401, ""),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("API key")));
  EXPECT_EQ(HttpErrorStatus("e", 404, "").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(HttpErrorStatus("e", 429, "").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(HttpErrorStatus("e", 502, "<html>").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpErrorStatus("e", 302, "").code(), absl::StatusCode::kInternal);
  // llama-server without a projector, asked for audio: permanent.
  EXPECT_THAT(
      HttpErrorStatus(
          "pool audio", 500,
          R"({"error":{"code":500,"message":"audio input is not supported - hint: you may need to provide the mmproj","type":"server_error"}})"),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("audio input is not supported")));
  EXPECT_EQ(HttpErrorStatus("e", 501, "").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(HttpErrorStatus("e", 500, "boom").code(),
            absl::StatusCode::kInternal);
  EXPECT_TRUE(IsRetryableHttpStatus(429));
  EXPECT_TRUE(IsRetryableHttpStatus(504));
  EXPECT_FALSE(IsRetryableHttpStatus(500));
  EXPECT_FALSE(IsRetryableHttpStatus(400));
}

}  // namespace
}  // namespace voxgate::upstream
