#include "http/openai_json.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/json_limits.h"
#include "common/json_reader.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "operations/chat_mapping.h"
#include "operations/field_checks.h"

namespace voxgate::http {
namespace {

using ::voxgate::operations::FieldError;

using json = nlohmann::json;

absl::StatusOr<v1::Role> RoleFor(const JsonReader& message) {
  const std::string field = message.Field("role");
  ASSIGN_OR_RETURN(std::optional<std::string> name,
                   message.OptionalString("role"));
  if (!name.has_value()) return FieldError(field, "is required");
  if (*name == "system") return v1::ROLE_SYSTEM;
  if (*name == "user") return v1::ROLE_USER;
  if (*name == "assistant") return v1::ROLE_ASSISTANT;
  if (*name == "tool") return v1::ROLE_TOOL;
  if (*name == "developer") return v1::ROLE_DEVELOPER;
  return FieldError(field, absl::StrCat("unknown role \"", *name,
                                        "\"; expected system, user, "
                                        "assistant, tool or developer"));
}

absl::Status AddPart(const json& value, const std::string& field,
                     v1::ChatMessage& message) {
  ASSIGN_OR_RETURN(const JsonReader part, JsonReader::Object(value, field));
  ASSIGN_OR_RETURN(const std::string type, part.String("type"));
  v1::ContentPart* out = message.add_content();
  if (type == "text") {
    ASSIGN_OR_RETURN(std::string text, part.String("text"));
    out->set_text(std::move(text));
    return absl::OkStatus();
  }
  if (type == "input_audio") {
    ASSIGN_OR_RETURN(std::optional<JsonReader> audio,
                     part.OptionalObject("input_audio"));
    if (!audio.has_value()) {
      return FieldError(part.Field("input_audio"), "is required");
    }
    ASSIGN_OR_RETURN(const std::string data, audio->String("data"));
    std::string bytes;
    if (!absl::Base64Unescape(data, &bytes)) {
      return FieldError(audio->Field("data"), "is not valid base64");
    }
    out->mutable_audio()->set_content(std::move(bytes));
    // The format is sniffed from the bytes, as for gRPC callers; WAV and MP3
    // pass through, others are transcoded.
    return absl::OkStatus();
  }
  if (type == "image_url") {
    ASSIGN_OR_RETURN(std::optional<JsonReader> image,
                     part.OptionalObject("image_url"));
    if (!image.has_value()) {
      return FieldError(part.Field("image_url"), "is required");
    }
    ASSIGN_OR_RETURN(std::string url, image->String("url"));
    ASSIGN_OR_RETURN(std::string detail, image->String("detail"));
    out->mutable_image_url()->set_url(std::move(url));
    out->mutable_image_url()->set_detail(std::move(detail));
    return absl::OkStatus();
  }
  return FieldError(part.Field("type"),
                    absl::StrCat("unsupported content part type \"", type,
                                 "\"; expected text, input_audio or "
                                 "image_url"));
}

absl::Status AddToolCalls(const JsonReader& message, v1::ChatMessage& out) {
  ASSIGN_OR_RETURN(const json* calls, message.Array("tool_calls"));
  if (calls == nullptr) return absl::OkStatus();
  for (std::size_t i = 0; i < calls->size(); ++i) {
    ASSIGN_OR_RETURN(
        const JsonReader call,
        JsonReader::Object((*calls)[i],
                           ElementName(message.Field("tool_calls"), i)));
    ASSIGN_OR_RETURN(std::optional<JsonReader> function,
                     call.OptionalObject("function"));
    if (!function.has_value()) {
      return FieldError(call.Field("function"), "is required");
    }
    v1::ToolCall* tool_call = out.add_tool_calls();
    ASSIGN_OR_RETURN(std::string id, call.String("id"));
    ASSIGN_OR_RETURN(std::string name, function->String("name"));
    ASSIGN_OR_RETURN(std::string arguments, function->String("arguments"));
    tool_call->set_id(std::move(id));
    tool_call->set_name(std::move(name));
    tool_call->set_arguments(std::move(arguments));
  }
  return absl::OkStatus();
}

absl::Status AddMessage(const json& value, const std::string& field,
                        v1::ChatRequest& request) {
  ASSIGN_OR_RETURN(const JsonReader message, JsonReader::Object(value, field));
  v1::ChatMessage* out = request.add_messages();
  ASSIGN_OR_RETURN(const v1::Role role, RoleFor(message));
  out->set_role(role);
  if (const json* content = message.Find("content")) {
    if (content->is_string()) {
      out->add_content()->set_text(content->get<std::string>());
    } else if (content->is_array()) {
      for (std::size_t i = 0; i < content->size(); ++i) {
        RETURN_IF_ERROR(AddPart(
            (*content)[i], ElementName(message.Field("content"), i), *out));
      }
    } else {
      return FieldError(message.Field("content"),
                        "must be a string or an array");
    }
  }
  ASSIGN_OR_RETURN(std::string name, message.String("name"));
  out->set_name(std::move(name));
  ASSIGN_OR_RETURN(std::string tool_call_id, message.String("tool_call_id"));
  out->set_tool_call_id(std::move(tool_call_id));
  return AddToolCalls(message, *out);
}

absl::Status AddTool(const json& value, const std::string& field,
                     v1::ChatRequest& request) {
  ASSIGN_OR_RETURN(const JsonReader tool, JsonReader::Object(value, field));
  ASSIGN_OR_RETURN(const std::string type, tool.String("type", "function"));
  ASSIGN_OR_RETURN(std::optional<JsonReader> function,
                   tool.OptionalObject("function"));
  if (type != "function" || !function.has_value()) {
    return FieldError(field,
                      "must be {\"type\": \"function\", "
                      "\"function\": {...}}");
  }
  v1::Tool* out = request.add_tools();
  ASSIGN_OR_RETURN(std::string name, function->String("name"));
  ASSIGN_OR_RETURN(std::string description, function->String("description"));
  ASSIGN_OR_RETURN(const bool strict, function->Bool("strict", false));
  out->set_name(std::move(name));
  out->set_description(std::move(description));
  if (const json* parameters = function->Find("parameters")) {
    out->set_parameters_json(DumpJson(*parameters));
  }
  out->set_strict(strict);
  return absl::OkStatus();
}

absl::Status SetToolChoice(const JsonReader& body, v1::ChatRequest& request) {
  const json* choice = body.Find("tool_choice");
  if (choice == nullptr) return absl::OkStatus();
  v1::ToolChoice* out = request.mutable_tool_choice();
  if (choice->is_string()) {
    const std::string& mode = choice->get_ref<const std::string&>();
    if (mode == "auto") {
      out->set_mode(v1::TOOL_CHOICE_MODE_AUTO);
    } else if (mode == "none") {
      out->set_mode(v1::TOOL_CHOICE_MODE_NONE);
    } else if (mode == "required") {
      out->set_mode(v1::TOOL_CHOICE_MODE_REQUIRED);
    } else {
      return FieldError("tool_choice",
                        "expected auto, none, required or a function");
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const JsonReader object,
                   JsonReader::Object(*choice, "tool_choice"));
  ASSIGN_OR_RETURN(std::optional<JsonReader> function,
                   object.OptionalObject("function"));
  if (!function.has_value()) {
    return FieldError("tool_choice",
                      "expected auto, none, required or a function");
  }
  ASSIGN_OR_RETURN(std::string name, function->String("name"));
  out->set_function_name(std::move(name));
  return absl::OkStatus();
}

absl::Status SetTools(const JsonReader& body, v1::ChatRequest& request) {
  ASSIGN_OR_RETURN(const json* tools, body.Array("tools"));
  if (tools != nullptr) {
    for (std::size_t i = 0; i < tools->size(); ++i) {
      RETURN_IF_ERROR(AddTool((*tools)[i], ElementName("tools", i), request));
    }
  }
  RETURN_IF_ERROR(SetToolChoice(body, request));
  ASSIGN_OR_RETURN(std::optional<bool> parallel,
                   body.OptionalBool("parallel_tool_calls"));
  if (parallel.has_value()) request.set_parallel_tool_calls(*parallel);
  return absl::OkStatus();
}

absl::Status SetResponseFormat(const JsonReader& format,
                               v1::GenerationConfig& generation) {
  ASSIGN_OR_RETURN(const std::string type, format.String("type"));
  v1::ResponseFormat* out = generation.mutable_response_format();
  if (type == "text") {
    out->set_type(v1::RESPONSE_FORMAT_TYPE_TEXT);
  } else if (type == "json_object") {
    out->set_type(v1::RESPONSE_FORMAT_TYPE_JSON_OBJECT);
  } else if (type == "json_schema") {
    ASSIGN_OR_RETURN(std::optional<JsonReader> schema,
                     format.OptionalObject("json_schema"));
    const json* document =
        schema.has_value() ? schema->Find("schema") : nullptr;
    if (document == nullptr) {
      return FieldError("response_format.json_schema.schema", "is required");
    }
    ASSIGN_OR_RETURN(std::string name, schema->String("name"));
    ASSIGN_OR_RETURN(const bool strict, schema->Bool("strict", false));
    out->set_type(v1::RESPONSE_FORMAT_TYPE_JSON_SCHEMA);
    out->set_schema_name(std::move(name));
    out->set_json_schema(DumpJson(*document));
    out->set_strict(strict);
  } else {
    return FieldError("response_format.type",
                      "expected text, json_object or json_schema");
  }
  return absl::OkStatus();
}

absl::Status SetStop(const json& value, v1::GenerationConfig& generation) {
  if (value.is_string()) {
    generation.add_stop(value.get<std::string>());
    return absl::OkStatus();
  }
  if (!value.is_array()) {
    return FieldError("stop", "must be a string or an array of strings");
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      return FieldError(ElementName("stop", i), "must be a string");
    }
    generation.add_stop(value[i].get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status SetGeneration(const JsonReader& body,
                           v1::GenerationConfig& generation) {
  struct FloatField {
    const char* key;
    void (v1::GenerationConfig::*set)(float);
  };
  for (const FloatField& field :
       {FloatField{"temperature", &v1::GenerationConfig::set_temperature},
        FloatField{"top_p", &v1::GenerationConfig::set_top_p},
        FloatField{"presence_penalty",
                   &v1::GenerationConfig::set_presence_penalty},
        FloatField{"frequency_penalty",
                   &v1::GenerationConfig::set_frequency_penalty}}) {
    ASSIGN_OR_RETURN(std::optional<double> value, body.Number(field.key));
    if (value.has_value()) {
      (generation.*field.set)(static_cast<float>(*value));
    }
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    ASSIGN_OR_RETURN(std::optional<int64_t> tokens, body.Integer(key));
    if (!tokens.has_value()) continue;
    if (*tokens < 1 || *tokens > 1048576) {
      return FieldError(key, "must be between 1 and 1048576");
    }
    generation.set_max_tokens(static_cast<int32_t>(*tokens));
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> seed, body.Integer("seed"));
  if (seed.has_value()) generation.set_seed(*seed);
  if (const json* stop = body.Find("stop")) {
    RETURN_IF_ERROR(SetStop(*stop, generation));
  }
  ASSIGN_OR_RETURN(std::optional<JsonReader> format,
                   body.OptionalObject("response_format"));
  if (format.has_value())
    RETURN_IF_ERROR(SetResponseFormat(*format, generation));
  return absl::OkStatus();
}

// Fields this mapping reads (those of the upstream request the API types) or
// deliberately ignores; the rest pass to the backend as extra fields.
bool IsKnownField(const std::string& key) {
  return operations::IsChatOwnedKey(key) || key == "n" || key == "user" ||
         key == "store" || key == "metadata";
}

json UsageJson(const v1::Usage& usage) {
  return {{"prompt_tokens", usage.input_tokens()},
          {"completion_tokens", usage.output_tokens()},
          {"total_tokens", usage.total_tokens()}};
}

const char* FinishReasonName(v1::FinishReason reason) {
  switch (reason) {
    case v1::FINISH_REASON_LENGTH:
      return "length";
    case v1::FINISH_REASON_CONTENT_FILTER:
      return "content_filter";
    case v1::FINISH_REASON_TOOL_CALLS:
      return "tool_calls";
    default:
      return "stop";
  }
}

}  // namespace

bool AsksForStream(const std::string& body) {
  // Within the same bounds as every caller's JSON; a body past them is no
  // stream's.
  const absl::StatusOr<json> parsed =
      ParseCallerJson(body, "the request body", kRequestJsonLimits);
  if (!parsed.ok() || !parsed->is_object()) return false;
  const auto stream = parsed->find("stream");
  return stream != parsed->end() && stream->is_boolean() && stream->get<bool>();
}

absl::StatusOr<OpenAiChatRequest> ChatRequestFromJson(const std::string& body) {
  ASSIGN_OR_RETURN(
      const json document,
      ParseCallerJson(body, "the request body", kRequestJsonLimits));
  if (!document.is_object()) {
    return absl::InvalidArgumentError("the request body must be a JSON object");
  }
  ASSIGN_OR_RETURN(const JsonReader reader, JsonReader::Object(document, ""));
  OpenAiChatRequest out;
  v1::ChatRequest& request = out.chat;
  ASSIGN_OR_RETURN(std::string model, reader.String("model"));
  request.set_model(std::move(model));
  ASSIGN_OR_RETURN(const json* messages, reader.Array("messages"));
  if (messages == nullptr) {
    return FieldError("messages", "is required and must be an array");
  }
  for (std::size_t i = 0; i < messages->size(); ++i) {
    RETURN_IF_ERROR(
        AddMessage((*messages)[i], ElementName("messages", i), request));
  }
  RETURN_IF_ERROR(SetGeneration(reader, *request.mutable_generation()));
  RETURN_IF_ERROR(SetTools(reader, request));
  ASSIGN_OR_RETURN(std::optional<int64_t> n, reader.Integer("n"));
  if (n.has_value() && *n != 1) return FieldError("n", "only 1 is supported");
  ASSIGN_OR_RETURN(out.stream, reader.Bool("stream", false));
  ASSIGN_OR_RETURN(std::optional<JsonReader> options,
                   reader.OptionalObject("stream_options"));
  if (options.has_value()) {
    ASSIGN_OR_RETURN(out.include_usage, options->Bool("include_usage", false));
  }
  for (const auto& [key, value] : document.items()) {
    if (IsKnownField(key)) continue;
    (*request.mutable_backend_options())[key] =
        value.is_string() ? value.get<std::string>() : DumpJson(value);
  }
  return out;
}

json ChatCompletionJson(const v1::ChatResponse& response, int64_t created) {
  json message = {
      {"role", "assistant"},
      {"content", response.tool_calls_size() > 0 && response.content().empty()
                      ? json()
                      : json(response.content())}};
  if (response.tool_calls_size() > 0) {
    json calls = json::array();
    for (const v1::ToolCall& call : response.tool_calls()) {
      calls.push_back(
          {{"id", call.id()},
           {"type", "function"},
           {"function",
            {{"name", call.name()}, {"arguments", call.arguments()}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  return {{"id", "chatcmpl-" + response.request_id()},
          {"object", "chat.completion"},
          {"created", created},
          {"model", response.model()},
          {"choices",
           {{{"index", 0},
             {"message", std::move(message)},
             {"finish_reason", FinishReasonName(response.finish_reason())}}}},
          {"usage", UsageJson(response.usage())}};
}

json ChatChunkJson(const v1::ChatChunk& chunk, const std::string& request_id,
                   const std::string& model, int64_t created, bool first) {
  json delta = json::object();
  if (first) delta["role"] = "assistant";
  if (!chunk.delta().empty()) delta["content"] = chunk.delta();
  if (chunk.tool_calls_size() > 0) {
    json calls = json::array();
    for (const v1::ToolCallDelta& call : chunk.tool_calls()) {
      json out = {{"index", call.index()}};
      if (!call.id().empty()) {
        out["id"] = call.id();
        out["type"] = "function";
      }
      json function = json::object();
      if (!call.name().empty()) function["name"] = call.name();
      function["arguments"] = call.arguments();
      out["function"] = std::move(function);
      calls.push_back(std::move(out));
    }
    delta["tool_calls"] = std::move(calls);
  }
  const bool last = chunk.finish_reason() != v1::FINISH_REASON_UNSPECIFIED;
  return {
      {"id", "chatcmpl-" + request_id},
      {"object", "chat.completion.chunk"},
      {"created", created},
      {"model", model},
      {"choices",
       {{{"index", 0},
         {"delta", std::move(delta)},
         {"finish_reason",
          last ? json(FinishReasonName(chunk.finish_reason())) : json()}}}}};
}

json UsageChunkJson(const v1::Usage& usage, const std::string& request_id,
                    const std::string& model, int64_t created) {
  return {{"id", "chatcmpl-" + request_id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"choices", json::array()},
          {"usage", UsageJson(usage)}};
}

json ModelsJson(const v1::ListModelsResponse& models) {
  json data = json::array();
  std::set<std::string> seen;
  for (const v1::ModelInfo& model : models.models()) {
    if (!seen.insert(model.id()).second) continue;
    data.push_back({{"id", model.id()},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", model.pool()}});
  }
  return {{"object", "list"}, {"data", std::move(data)}};
}

}  // namespace voxgate::http
