#include "tests/fake_upstream/openai_replies.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace voxgate::testing {
namespace {

using Json = nlohmann::json;

std::string Timestamp(double seconds, char separator) {
  const int64_t millis = static_cast<int64_t>(std::llround(seconds * 1000));
  return absl::StrFormat("%02d:%02d:%02d%c%03d", millis / 3600000,
                         millis / 60000 % 60, millis / 1000 % 60, separator,
                         millis % 1000);
}

}  // namespace

std::vector<std::string> Tokens(const std::string& text) {
  std::vector<std::string> tokens;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    tokens.push_back(absl::StrCat(word, " "));
  }
  if (!tokens.empty()) tokens.back().pop_back();
  return tokens;
}

std::string TranscriptionBody(const std::string& format,
                              const std::string& text, double duration_seconds,
                              bool with_words, bool with_segments) {
  if (format == "text") return text;
  if (format == "srt") {
    return absl::StrCat("1\n", Timestamp(0, ','), " --> ",
                        Timestamp(duration_seconds, ','), "\n", text, "\n\n");
  }
  if (format == "vtt") {
    return absl::StrCat("WEBVTT\n\n", Timestamp(0, '.'), " --> ",
                        Timestamp(duration_seconds, '.'), "\n", text, "\n\n");
  }
  if (format != "verbose_json") return Json{{"text", text}}.dump();
  Json body = {{"task", "transcribe"},
               {"language", "english"},
               {"duration", duration_seconds},
               {"text", text}};
  if (with_segments) {
    body["segments"] = Json::array({{{"id", 0},
                                     {"seek", 0},
                                     {"start", 0.0},
                                     {"end", duration_seconds},
                                     {"text", text},
                                     {"tokens", Json::array({50364, 400})},
                                     {"temperature", 0.0},
                                     {"avg_logprob", -0.25},
                                     {"compression_ratio", 1.2},
                                     {"no_speech_prob", 0.01}}});
  }
  if (with_words) {
    const std::vector<std::string> tokens = Tokens(text);
    Json words = Json::array();
    const double step = tokens.empty() ? 0 : duration_seconds / tokens.size();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string word = tokens[i];
      if (!word.empty() && word.back() == ' ') word.pop_back();
      words.push_back(
          {{"word", word}, {"start", step * i}, {"end", step * (i + 1)}});
    }
    body["words"] = words;
  }
  body["usage"] = {{"type", "duration"},
                   {"seconds", static_cast<int>(std::ceil(duration_seconds))}};
  return body.dump();
}

std::vector<std::string> TranscriptionStreamEvents(const std::string& style,
                                                   const std::string& model,
                                                   const std::string& text,
                                                   double duration_seconds) {
  std::vector<std::string> events;
  const std::vector<std::string> tokens = Tokens(text);
  if (style == "vllm") {
    auto chunk = [&](const std::string& content, const Json& finish) {
      return Json{{"id", "trsc-fake"},
                  {"object", "transcription.chunk"},
                  {"created", 1700000000},
                  {"model", model},
                  {"choices", Json::array({{{"delta", {{"content", content}}},
                                            {"finish_reason", finish},
                                            {"stop_reason", nullptr}}})}};
    };
    for (const std::string& token : tokens)
      events.push_back(chunk(token, nullptr).dump());
    Json last = chunk("", "stop");
    last["usage"] = {{"prompt_tokens", 10},
                     {"completion_tokens", tokens.size()},
                     {"total_tokens", 10 + tokens.size()}};
    events.push_back(last.dump());
    events.push_back("[DONE]");
    return events;
  }
  for (const std::string& token : tokens) {
    events.push_back(Json{
        {"type", "transcript.text.delta"},
        {"delta", token},
        {"logprobs",
         nullptr}}.dump());
  }
  events.push_back(
      Json{{"type", "transcript.text.done"},
           {"text", text},
           {"usage",
            {{"type", "duration"},
             {"seconds", static_cast<int>(std::ceil(duration_seconds))}}}}
          .dump());
  return events;
}

std::string ChatCompletionBody(const std::string& model,
                               const std::string& text,
                               const ChatUsage& usage) {
  return Json{
      {"id", "chatcmpl-fake"},
      {"object", "chat.completion"},
      {"created", 1700000000},
      {"model", model},
      {"choices",
       Json::array({{{"index", 0},
                     {"message", {{"role", "assistant"}, {"content", text}}},
                     {"logprobs", nullptr},
                     {"finish_reason", "stop"}}})},
      {"usage",
       {{"prompt_tokens", usage.prompt_tokens},
        {"completion_tokens", usage.completion_tokens},
        {"total_tokens", usage.prompt_tokens + usage.completion_tokens}}}}
      .dump();
}

std::vector<std::string> ChatStreamEvents(const std::string& model,
                                          const std::string& text,
                                          const ChatUsage& usage,
                                          bool include_usage) {
  auto chunk = [&](const Json& delta, const Json& finish) {
    Json body = {{"id", "chatcmpl-fake"},
                 {"object", "chat.completion.chunk"},
                 {"created", 1700000000},
                 {"model", model},
                 {"choices", Json::array({{{"index", 0},
                                           {"delta", delta},
                                           {"logprobs", nullptr},
                                           {"finish_reason", finish}}})}};
    if (include_usage) body["usage"] = nullptr;
    return body;
  };
  std::vector<std::string> events;
  events.push_back(
      chunk({{"role", "assistant"}, {"content", ""}}, nullptr).dump());
  for (const std::string& token : Tokens(text)) {
    events.push_back(chunk({{"content", token}}, nullptr).dump());
  }
  events.push_back(chunk(Json::object(), "stop").dump());
  if (include_usage) {
    events.push_back(Json{
        {"id", "chatcmpl-fake"},
        {"object", "chat.completion.chunk"},
        {"created", 1700000000},
        {"model", model},
        {"choices", Json::array()},
        {"usage",
         {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}}}}
                         .dump());
  }
  events.push_back("[DONE]");
  return events;
}

std::optional<FakeToolCall> ToolCallFor(const Json& request,
                                        const std::string& user_text) {
  auto tools = request.find("tools");
  if (tools == request.end() || !tools->is_array() || tools->empty()) {
    return std::nullopt;
  }
  const Json& messages = request["messages"];
  if (messages.back().value("role", "") == "tool") return std::nullopt;
  std::string name = (*tools)[0]["function"].value("name", "");
  if (auto choice = request.find("tool_choice"); choice != request.end()) {
    if (choice->is_string() && *choice == "none") return std::nullopt;
    if (choice->is_object()) name = (*choice)["function"].value("name", name);
  }
  int turns = 0;
  for (const Json& message : messages) {
    turns += message.value("role", "") == "assistant";
  }
  return FakeToolCall{absl::StrCat("call_fake_", turns), name,
                      Json{{"text", user_text}}.dump()};
}

std::string ToolCallCompletionBody(const std::string& model,
                                   const FakeToolCall& call,
                                   const ChatUsage& usage) {
  Json body = Json::parse(ChatCompletionBody(model, "", usage));
  Json& choice = body["choices"][0];
  choice["finish_reason"] = "tool_calls";
  choice["message"]["content"] = nullptr;
  choice["message"]["tool_calls"] = Json::array(
      {{{"id", call.id},
        {"type", "function"},
        {"function", {{"name", call.name}, {"arguments", call.arguments}}}}});
  return body.dump();
}

std::vector<std::string> ToolCallStreamEvents(const std::string& model,
                                              const FakeToolCall& call,
                                              const ChatUsage& usage,
                                              bool include_usage) {
  // The text events' frame, with its content chunks replaced by tool calls.
  std::vector<std::string> events =
      ChatStreamEvents(model, "", usage, include_usage);
  Json first = Json::parse(events.front());
  auto with_delta = [&](const Json& delta, const Json& finish) {
    Json chunk = first;
    chunk["choices"][0]["delta"] = delta;
    chunk["choices"][0]["finish_reason"] = finish;
    return chunk.dump();
  };
  const std::size_t half = call.arguments.size() / 2;
  auto piece = [&](const Json& function, bool with_id) {
    Json entry = {{"index", 0}, {"function", function}};
    if (with_id) {
      entry["id"] = call.id;
      entry["type"] = "function";
    }
    return Json{{"tool_calls", Json::array({entry})}};
  };
  std::vector<std::string> out = {
      with_delta({{"role", "assistant"}, {"content", nullptr}}, nullptr),
      with_delta(piece({{"name", call.name}, {"arguments", ""}}, true),
                 nullptr),
      with_delta(piece({{"arguments", call.arguments.substr(0, half)}}, false),
                 nullptr),
      with_delta(piece({{"arguments", call.arguments.substr(half)}}, false),
                 nullptr),
      with_delta(Json::object(), "tool_calls")};
  // Keep the usage chunk and [DONE] of the text frame.
  const std::size_t tail = include_usage ? 2 : 1;
  out.insert(out.end(), events.end() - tail, events.end());
  return out;
}

std::string ErrorBody(int status, const std::string& message) {
  return Json{{"error",
               {{"message", message},
                {"type", status == 429  ? "rate_limit_exceeded"
                         : status < 500 ? "invalid_request_error"
                                        : "server_error"},
                {"param", nullptr},
                {"code", status}}}}
      .dump();
}

}  // namespace voxgate::testing
