#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "upstream/openai_json_fields.h"
#include "upstream/openai_protocol.h"

namespace voxgate::upstream {

using openai_fields::Json;
using openai_fields::NotA;
using openai_fields::NumberOr;
using openai_fields::ParseTokenUsage;
using openai_fields::StringOr;

namespace {

Json MessageContent(const ChatMessage& message) {
  if (message.parts.size() == 1 &&
      message.parts[0].kind == ChatPart::Kind::kText) {
    return message.parts[0].text;
  }
  Json parts = Json::array();
  for (const ChatPart& part : message.parts) {
    switch (part.kind) {
      case ChatPart::Kind::kText:
        parts.push_back({{"type", "text"}, {"text", part.text}});
        break;
      case ChatPart::Kind::kAudio:
        parts.push_back({{"type", "input_audio"},
                         {"input_audio",
                          {{"data", absl::Base64Escape(part.audio)},
                           {"format", part.audio_format}}}});
        break;
      case ChatPart::Kind::kImageUrl: {
        Json image = {{"url", part.url}};
        if (!part.detail.empty()) image["detail"] = part.detail;
        parts.push_back({{"type", "image_url"}, {"image_url", image}});
        break;
      }
    }
  }
  return parts;
}

Json ToolCallsJson(const std::vector<ToolCall>& calls) {
  Json out = Json::array();
  for (const ToolCall& call : calls) {
    out.push_back(
        {{"id", call.id},
         {"type", "function"},
         {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
  }
  return out;
}

Json ToolsJson(const std::vector<ToolSpec>& tools) {
  Json out = Json::array();
  for (const ToolSpec& tool : tools) {
    Json function = {{"name", tool.name}};
    if (!tool.description.empty()) function["description"] = tool.description;
    // Checked as JSON by the caller; a schema that somehow is not stays out.
    Json parameters =
        tool.parameters_json.empty()
            ? Json{{"type", "object"}, {"properties", Json::object()}}
            : Json::parse(tool.parameters_json, nullptr, false);
    if (!parameters.is_discarded())
      function["parameters"] = std::move(parameters);
    if (tool.strict) function["strict"] = true;
    out.push_back({{"type", "function"}, {"function", std::move(function)}});
  }
  return out;
}

void AddTools(const ChatRequest& request, Json& body) {
  if (request.tools.empty()) return;
  body["tools"] = ToolsJson(request.tools);
  if (!request.tool_choice_function.empty()) {
    body["tool_choice"] = {
        {"type", "function"},
        {"function", {{"name", request.tool_choice_function}}}};
  } else if (!request.tool_choice.empty()) {
    body["tool_choice"] = request.tool_choice;
  }
  if (request.parallel_tool_calls) {
    body["parallel_tool_calls"] = *request.parallel_tool_calls;
  }
}

// OpenAI tool_calls[] of a message; entries that are not function calls are
// skipped. Arguments some servers send as an object are kept as its JSON text.
std::vector<ToolCall> ParseToolCalls(const Json& message) {
  std::vector<ToolCall> calls;
  auto list = message.find("tool_calls");
  if (list == message.end() || !list->is_array()) return calls;
  for (const Json& entry : *list) {
    if (!entry.is_object()) continue;
    auto function = entry.find("function");
    if (function == entry.end() || !function->is_object()) continue;
    ToolCall call{StringOr(entry, "id"), StringOr(*function, "name"), ""};
    if (auto arguments = function->find("arguments");
        arguments != function->end()) {
      call.arguments = arguments->is_string() ? arguments->get<std::string>()
                                              : arguments->dump();
    }
    calls.push_back(std::move(call));
  }
  return calls;
}

std::vector<ToolCallDelta> ParseToolCallDeltas(const Json& delta) {
  std::vector<ToolCallDelta> pieces;
  auto list = delta.find("tool_calls");
  if (list == delta.end() || !list->is_array()) return pieces;
  for (const Json& entry : *list) {
    if (!entry.is_object()) continue;
    ToolCallDelta piece;
    piece.index = static_cast<int>(NumberOr(entry, "index", 0));
    piece.id = StringOr(entry, "id");
    if (auto function = entry.find("function");
        function != entry.end() && function->is_object()) {
      piece.name = StringOr(*function, "name");
      if (auto arguments = function->find("arguments");
          arguments != function->end()) {
        piece.arguments = arguments->is_string() ? arguments->get<std::string>()
                                                 : arguments->dump();
      }
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

}  // namespace

absl::StatusOr<HttpRequest> ChatHttpRequest(const std::string& base_url,
                                            const ChatRequest& request,
                                            const std::string& model,
                                            bool stream) {
  Json body = Json::object();
  const std::string& chosen = request.model.empty() ? model : request.model;
  if (!chosen.empty()) body["model"] = chosen;
  Json messages = Json::array();
  for (const ChatMessage& message : request.messages) {
    // An assistant turn that only calls tools has no content: null, as OpenAI
    // sends it.
    Json entry = {{"role", message.role},
                  {"content", message.parts.empty() ? Json(nullptr)
                                                    : MessageContent(message)}};
    if (!message.name.empty()) entry["name"] = message.name;
    if (!message.tool_call_id.empty())
      entry["tool_call_id"] = message.tool_call_id;
    if (!message.tool_calls.empty())
      entry["tool_calls"] = ToolCallsJson(message.tool_calls);
    messages.push_back(std::move(entry));
  }
  body["messages"] = std::move(messages);
  const ChatParams& params = request.params;
  if (params.temperature) body["temperature"] = *params.temperature;
  if (params.top_p) body["top_p"] = *params.top_p;
  if (params.max_tokens) body["max_tokens"] = *params.max_tokens;
  if (!params.stop.empty()) body["stop"] = params.stop;
  if (params.seed) body["seed"] = *params.seed;
  if (params.presence_penalty)
    body["presence_penalty"] = *params.presence_penalty;
  if (params.frequency_penalty)
    body["frequency_penalty"] = *params.frequency_penalty;
  if (params.response_format == "json_object") {
    body["response_format"] = {{"type", "json_object"}};
  } else if (params.response_format == "json_schema") {
    Json schema = Json::parse(params.json_schema, nullptr, false);
    if (schema.is_discarded()) {
      return absl::InvalidArgumentError(
          "generation.response_format.json_schema: not a JSON document");
    }
    body["response_format"] = {
        {"type", "json_schema"},
        {"json_schema",
         {{"name", params.json_schema_name.empty() ? std::string("response")
                                                   : params.json_schema_name},
          {"schema", std::move(schema)},
          {"strict", params.json_schema_strict}}}};
  }
  AddTools(request, body);
  for (const auto& [key, value] : params.extra) {
    Json parsed = Json::parse(value, nullptr, false);
    body[key] = parsed.is_discarded() ? Json(value) : std::move(parsed);
  }
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  HttpRequest http;
  http.url = absl::StrCat(base_url, "/chat/completions");
  http.headers.emplace_back("Content-Type", "application/json");
  http.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return http;
}

absl::StatusOr<ChatCompletion> ParseChatCompletion(absl::string_view body) {
  const Json json = Json::parse(body.begin(), body.end(), nullptr, false);
  if (!json.is_object() || !json.contains("choices") ||
      !json["choices"].is_array() || json["choices"].empty() ||
      !json["choices"][0].is_object()) {
    return NotA("an OpenAI chat completion", body);
  }
  const Json& choice = json["choices"][0];
  ChatCompletion result;
  if (auto message = choice.find("message");
      message != choice.end() && message->is_object()) {
    result.content = StringOr(*message, "content");
    result.tool_calls = ParseToolCalls(*message);
  } else {
    return NotA("an OpenAI chat completion (no choices[0].message)", body);
  }
  result.finish_reason = StringOr(choice, "finish_reason");
  result.model = StringOr(json, "model");
  if (auto usage = json.find("usage"); usage != json.end()) {
    result.usage = ParseTokenUsage(*usage);
  }
  return result;
}

absl::Status ChatStreamDecoder::Decode(const SseEvent& event,
                                       std::vector<ChatDelta>& deltas) {
  if (event.data == "[DONE]") {
    done_ = true;
    return absl::OkStatus();
  }
  const Json json = Json::parse(event.data, nullptr, false);
  if (!json.is_object()) return NotA("a chat.completion.chunk", event.data);
  if (auto error = json.find("error"); error != json.end()) {
    // An error object with an HTTP code (llama-server sends one) means what
    // that status would; without one, the stream broke: UNAVAILABLE.
    const int code =
        error->is_object() ? static_cast<int>(NumberOr(*error, "code", 0)) : 0;
    if (code >= 400 && code < 600) {
      return HttpErrorStatus("upstream stream", code, event.data);
    }
    return absl::UnavailableError(
        absl::StrCat("upstream stream failed: ",
                     Excerpt(error->is_object() ? StringOr(*error, "message")
                                                : error->dump())));
  }
  ChatDelta delta;
  delta.model = StringOr(json, "model");
  if (auto choices = json.find("choices");
      choices != json.end() && choices->is_array() && !choices->empty()) {
    const Json& choice = (*choices)[0];
    if (auto content = choice.find("delta");
        content != choice.end() && content->is_object()) {
      delta.content = StringOr(*content, "content");
      delta.tool_calls = ParseToolCallDeltas(*content);
    }
    delta.finish_reason = StringOr(choice, "finish_reason");
  } else if (choices == json.end() || !choices->is_array()) {
    return NotA("a chat.completion.chunk", event.data);
  }
  if (auto usage = json.find("usage");
      usage != json.end() && usage->is_object()) {
    delta.usage = ParseTokenUsage(*usage);
  }
  deltas.push_back(std::move(delta));
  return absl::OkStatus();
}

}  // namespace voxgate::upstream
