#include "upstream/openai_protocol.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace voxgate::upstream {
namespace {

using Json = nlohmann::json;

absl::Status NotA(absl::string_view what, absl::string_view body) {
  return absl::InternalError(absl::StrCat(
      "upstream answered something that is not ", what, ": ", Excerpt(body)));
}

// "en-US" -> "en": OpenAI-compatible servers take ISO-639-1.
std::string PrimaryLanguage(const std::string& code) {
  return absl::AsciiStrToLower(code.substr(0, code.find('-')));
}

std::string AudioMime(const std::string& format) {
  if (format == "mp3") return "audio/mpeg";
  return absl::StrCat("audio/", format);
}

double NumberOr(const Json& object, const char* key, double fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string StringOr(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

Usage ParseTokenUsage(const Json& usage) {
  Usage result;
  if (!usage.is_object()) return result;
  result.input_tokens =
      static_cast<int64_t>(NumberOr(usage, "prompt_tokens", 0));
  result.output_tokens =
      static_cast<int64_t>(NumberOr(usage, "completion_tokens", 0));
  result.total_tokens =
      static_cast<int64_t>(NumberOr(usage, "total_tokens", 0));
  if (auto details = usage.find("prompt_tokens_details");
      details != usage.end() && details->is_object()) {
    result.audio_tokens =
        static_cast<int64_t>(NumberOr(*details, "audio_tokens", 0));
  }
  // OpenAI transcription usage: {"type": "duration", "seconds": N} or token
  // counts.
  if (StringOr(usage, "type") == "duration") {
    result.audio_seconds = NumberOr(usage, "seconds", 0);
  } else if (usage.contains("input_tokens")) {
    result.input_tokens =
        static_cast<int64_t>(NumberOr(usage, "input_tokens", 0));
    result.output_tokens =
        static_cast<int64_t>(NumberOr(usage, "output_tokens", 0));
  }
  return result;
}

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

std::string Excerpt(absl::string_view text, std::size_t max_bytes) {
  std::string out;
  for (char c : text.substr(0, max_bytes)) {
    out.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : ' ');
  }
  if (text.size() > max_bytes) out.append("...");
  return out;
}

HttpRequest TranscriptionHttpRequest(const std::string& base_url,
                                     const TranscriptionRequest& request,
                                     const std::string& model, bool stream) {
  HttpRequest http;
  http.url =
      absl::StrCat(base_url, request.translate ? "/audio/translations"
                                               : "/audio/transcriptions");
  const std::string& chosen = request.model.empty() ? model : request.model;
  http.form.push_back({"file", request.audio,
                       absl::StrCat("audio.", request.audio_format),
                       AudioMime(request.audio_format)});
  if (!chosen.empty()) http.form.push_back({"model", chosen, "", ""});
  if (!request.language.empty() && !request.translate) {
    http.form.push_back(
        {"language", PrimaryLanguage(request.language), "", ""});
  }
  if (!request.prompt.empty())
    http.form.push_back({"prompt", request.prompt, "", ""});
  if (request.temperature) {
    http.form.push_back(
        {"temperature", absl::StrCat(*request.temperature), "", ""});
  }
  const bool verbose = request.want_segments || request.want_words;
  http.form.push_back(
      {"response_format", verbose ? "verbose_json" : "json", "", ""});
  if (verbose && !request.translate) {
    if (request.want_segments) {
      http.form.push_back({"timestamp_granularities[]", "segment", "", ""});
    }
    if (request.want_words) {
      http.form.push_back({"timestamp_granularities[]", "word", "", ""});
    }
  }
  if (stream) http.form.push_back({"stream", "true", "", ""});
  for (const auto& [name, value] : request.extra_fields) {
    http.form.push_back({name, value, "", ""});
  }
  return http;
}

absl::StatusOr<Transcription> ParseTranscription(absl::string_view body) {
  const Json json = Json::parse(body.begin(), body.end(), nullptr, false);
  if (!json.is_object() || !json.contains("text") ||
      !json["text"].is_string()) {
    return NotA("an OpenAI transcription", body);
  }
  Transcription result;
  result.text = json["text"].get<std::string>();
  result.language = StringOr(json, "language");
  result.duration_seconds = NumberOr(json, "duration", 0);
  if (auto segments = json.find("segments");
      segments != json.end() && segments->is_array()) {
    for (const Json& segment : *segments) {
      if (!segment.is_object()) return NotA("a segment list", body);
      result.segments.push_back(
          {NumberOr(segment, "start", 0), NumberOr(segment, "end", 0),
           StringOr(segment, "text"),
           static_cast<float>(NumberOr(segment, "avg_logprob", 0)),
           static_cast<float>(NumberOr(segment, "no_speech_prob", 0))});
    }
  }
  if (auto words = json.find("words");
      words != json.end() && words->is_array()) {
    for (const Json& word : *words) {
      if (!word.is_object()) return NotA("a word list", body);
      // whisper.cpp names the confidence "probability".
      result.words.push_back(
          {StringOr(word, "word"), NumberOr(word, "start", 0),
           NumberOr(word, "end", 0),
           static_cast<float>(NumberOr(word, "probability", 0))});
    }
  }
  if (auto usage = json.find("usage"); usage != json.end()) {
    result.usage = ParseTokenUsage(*usage);
  }
  return result;
}

ChatRequest ChatAudioTranscriptionRequest(const TranscriptionRequest& request,
                                          const std::string& system_prompt) {
  std::string instruction =
      request.translate
          ? "Translate this audio to English. Reply with the "
            "translation only."
          : "Transcribe this audio. Reply with the transcript only.";
  if (!request.language.empty()) {
    absl::StrAppend(&instruction,
                    " (language: ", PrimaryLanguage(request.language), ")");
  }
  if (!request.prompt.empty())
    absl::StrAppend(&instruction, " Context: ", request.prompt);
  ChatRequest chat;
  chat.model = request.model;
  chat.messages.push_back(
      ChatMessage::Of("system", {ChatPart::Text(system_prompt)}));
  chat.messages.push_back(ChatMessage::Of(
      "user", {ChatPart::Text(std::move(instruction)),
               ChatPart::Audio(request.audio, request.audio_format)}));
  chat.params.temperature = request.temperature;
  return chat;
}

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

HttpRequest ModelsHttpRequest(const std::string& base_url) {
  HttpRequest http;
  http.method = "GET";
  http.url = absl::StrCat(base_url, "/models");
  return http;
}

absl::StatusOr<std::vector<std::string>> ParseModelList(
    absl::string_view body) {
  const Json json = Json::parse(body.begin(), body.end(), nullptr, false);
  if (!json.is_object() || !json.contains("data") || !json["data"].is_array()) {
    return NotA("an OpenAI model list", body);
  }
  std::vector<std::string> ids;
  for (const Json& model : json["data"]) {
    if (model.is_object() && model.contains("id") && model["id"].is_string()) {
      ids.push_back(model["id"].get<std::string>());
    }
  }
  return ids;
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

absl::Status TranscriptionStreamDecoder::Decode(
    const SseEvent& event, std::vector<std::string>& deltas,
    std::optional<Transcription>& final) {
  if (event.data == "[DONE]") {
    Transcription done;
    done.text = text_;
    done.usage = usage_;
    final = std::move(done);
    return absl::OkStatus();
  }
  const Json json = Json::parse(event.data, nullptr, false);
  if (!json.is_object())
    return NotA("a transcription stream event", event.data);
  if (auto error = json.find("error"); error != json.end()) {
    return absl::UnavailableError(
        absl::StrCat("upstream stream failed: ", Excerpt(error->dump())));
  }
  const std::string type = StringOr(json, "type");
  if (type == "transcript.text.delta") {
    deltas.push_back(StringOr(json, "delta"));
    text_ += deltas.back();
  } else if (type == "transcript.text.done") {
    Transcription done;
    done.text = StringOr(json, "text");
    if (auto usage = json.find("usage"); usage != json.end()) {
      done.usage = ParseTokenUsage(*usage);
    }
    final = std::move(done);
  } else if (StringOr(json, "object") == "transcription.chunk") {
    if (auto choices = json.find("choices");
        choices != json.end() && choices->is_array() && !choices->empty()) {
      const Json& choice = (*choices)[0];
      if (auto delta = choice.find("delta");
          delta != choice.end() && delta->is_object()) {
        const std::string content = StringOr(*delta, "content");
        if (!content.empty()) {
          deltas.push_back(content);
          text_ += content;
        }
      }
    }
    if (auto usage = json.find("usage");
        usage != json.end() && usage->is_object()) {
      usage_ = ParseTokenUsage(*usage);
    }
  } else if (!type.empty() && type.rfind("transcript.text.", 0) == 0) {
    // transcript.text.segment and future event types carry nothing we need.
  } else {
    return NotA("a transcription stream event", event.data);
  }
  return absl::OkStatus();
}

bool SaysCapabilityIsMissing(absl::string_view detail) {
  const std::string lower = absl::AsciiStrToLower(detail);
  for (absl::string_view phrase :
       {"not supported", "unsupported", "does not support", "not implemented",
        "not enabled"}) {
    if (absl::StrContains(lower, phrase)) return true;
  }
  return false;
}

absl::Status HttpErrorStatus(absl::string_view where, int status_code,
                             absl::string_view body) {
  std::string detail;
  const Json json = Json::parse(body.begin(), body.end(), nullptr, false);
  if (json.is_object() && json.contains("error")) {
    const Json& error = json["error"];
    detail =
        error.is_object() ? StringOr(error, "message") : Excerpt(error.dump());
  } else {
    detail = Excerpt(body);
  }
  const std::string message = absl::StrCat(where, " answered HTTP ",
                                           status_code, ": ", Excerpt(detail));
  switch (status_code) {
    case 400:
    case 413:
    case 415:
    case 422:
      return absl::InvalidArgumentError(message);
    case 401:
    case 403:
      return absl::FailedPreconditionError(
          absl::StrCat(message, " (check the pool's API key)"));
    case 404:
      return absl::NotFoundError(message);
    case 408:
    case 429:
      return absl::ResourceExhaustedError(message);
    case 500:
    case 501:
      // A server that lacks a capability (llama-server without a multimodal
      // projector: "audio input is not supported") answers 500 or 501; that
      // is permanent, so not a retryable UNAVAILABLE.
      if (status_code == 501 || SaysCapabilityIsMissing(detail)) {
        return absl::FailedPreconditionError(absl::StrCat(
            message, " (the pool's server or model cannot do this)"));
      }
      // Failed on this request: not a sign the server is down.
      return absl::InternalError(message);
    default:
      return status_code >= 500 ? absl::UnavailableError(message)
                                : absl::InternalError(message);
  }
}

bool IsRetryableHttpStatus(int status_code) {
  return status_code == 429 || status_code == 502 || status_code == 503 ||
         status_code == 504;
}

}  // namespace voxgate::upstream
