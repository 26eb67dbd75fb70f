#include "http/openai_json.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/chat_mapping.h"

namespace voxgate::http {
namespace {

using json = nlohmann::json;
using ::google::protobuf::util::TimeUtil;

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::StatusOr<v1::Role> RoleFor(const json& role, const std::string& field) {
  if (!role.is_string()) return FieldError(field, "must be a string");
  const std::string name = role.get<std::string>();
  if (name == "system") return v1::ROLE_SYSTEM;
  if (name == "user") return v1::ROLE_USER;
  if (name == "assistant") return v1::ROLE_ASSISTANT;
  if (name == "tool") return v1::ROLE_TOOL;
  if (name == "developer") return v1::ROLE_DEVELOPER;
  return FieldError(field, absl::StrCat("unknown role \"", name,
                                        "\"; expected system, user, "
                                        "assistant, tool or developer"));
}

absl::StatusOr<std::string> StringField(const json& object, const char* key,
                                        const std::string& field) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return FieldError(field, "must be a string");
  return it->get<std::string>();
}

absl::Status AddPart(const json& part, const std::string& field,
                     v1::ChatMessage& message) {
  if (!part.is_object()) return FieldError(field, "must be an object");
  const std::string type = part.value("type", "");
  v1::ContentPart* out = message.add_content();
  if (type == "text") {
    absl::StatusOr<std::string> text =
        StringField(part, "text", field + ".text");
    if (!text.ok()) return text.status();
    out->set_text(*std::move(text));
    return absl::OkStatus();
  }
  if (type == "input_audio") {
    auto audio = part.find("input_audio");
    if (audio == part.end() || !audio->is_object()) {
      return FieldError(field + ".input_audio", "must be an object");
    }
    absl::StatusOr<std::string> data =
        StringField(*audio, "data", field + ".input_audio.data");
    if (!data.ok()) return data.status();
    std::string bytes;
    if (!absl::Base64Unescape(*data, &bytes)) {
      return FieldError(field + ".input_audio.data", "is not valid base64");
    }
    out->mutable_audio()->set_content(std::move(bytes));
    // The format is sniffed from the bytes, as for gRPC callers; WAV and MP3
    // pass through, others are transcoded.
    return absl::OkStatus();
  }
  if (type == "image_url") {
    auto image = part.find("image_url");
    if (image == part.end() || !image->is_object()) {
      return FieldError(field + ".image_url", "must be an object");
    }
    out->mutable_image_url()->set_url(image->value("url", ""));
    out->mutable_image_url()->set_detail(image->value("detail", ""));
    return absl::OkStatus();
  }
  return FieldError(field + ".type",
                    absl::StrCat("unsupported content part type \"", type,
                                 "\"; expected text, input_audio or "
                                 "image_url"));
}

absl::Status AddMessage(const json& message, const std::string& field,
                        v1::ChatRequest& request) {
  if (!message.is_object()) return FieldError(field, "must be an object");
  v1::ChatMessage* out = request.add_messages();
  absl::StatusOr<v1::Role> role =
      RoleFor(message.value("role", json()), field + ".role");
  if (!role.ok()) return role.status();
  out->set_role(*role);
  auto content = message.find("content");
  if (content != message.end() && !content->is_null()) {
    if (content->is_string()) {
      out->add_content()->set_text(content->get<std::string>());
    } else if (content->is_array()) {
      for (std::size_t i = 0; i < content->size(); ++i) {
        absl::Status added = AddPart(
            (*content)[i], absl::StrCat(field, ".content[", i, "]"), *out);
        if (!added.ok()) return added;
      }
    } else {
      return FieldError(field + ".content", "must be a string or an array");
    }
  }
  absl::StatusOr<std::string> name =
      StringField(message, "name", field + ".name");
  if (!name.ok()) return name.status();
  out->set_name(*name);
  absl::StatusOr<std::string> tool_call_id =
      StringField(message, "tool_call_id", field + ".tool_call_id");
  if (!tool_call_id.ok()) return tool_call_id.status();
  out->set_tool_call_id(*tool_call_id);
  auto calls = message.find("tool_calls");
  if (calls != message.end() && !calls->is_null()) {
    if (!calls->is_array()) {
      return FieldError(field + ".tool_calls", "must be an array");
    }
    for (std::size_t i = 0; i < calls->size(); ++i) {
      const json& call = (*calls)[i];
      const std::string call_field =
          absl::StrCat(field, ".tool_calls[", i, "]");
      if (!call.is_object() || !call.contains("function") ||
          !call["function"].is_object()) {
        return FieldError(call_field + ".function", "must be an object");
      }
      v1::ToolCall* tool_call = out->add_tool_calls();
      tool_call->set_id(call.value("id", ""));
      tool_call->set_name(call["function"].value("name", ""));
      tool_call->set_arguments(call["function"].value("arguments", ""));
    }
  }
  return absl::OkStatus();
}

absl::Status SetTools(const json& body, v1::ChatRequest& request) {
  auto tools = body.find("tools");
  if (tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return FieldError("tools", "must be an array");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& tool = (*tools)[i];
      const std::string field = absl::StrCat("tools[", i, "]");
      if (!tool.is_object() || tool.value("type", "function") != "function" ||
          !tool.contains("function") || !tool["function"].is_object()) {
        return FieldError(field,
                          "must be {\"type\": \"function\", "
                          "\"function\": {...}}");
      }
      const json& function = tool["function"];
      v1::Tool* out = request.add_tools();
      out->set_name(function.value("name", ""));
      out->set_description(function.value("description", ""));
      if (function.contains("parameters")) {
        out->set_parameters_json(function["parameters"].dump());
      }
      out->set_strict(function.value("strict", false));
    }
  }
  auto choice = body.find("tool_choice");
  if (choice != body.end() && !choice->is_null()) {
    v1::ToolChoice* out = request.mutable_tool_choice();
    if (choice->is_string()) {
      const std::string mode = choice->get<std::string>();
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
    } else if (choice->is_object() && choice->contains("function") &&
               (*choice)["function"].is_object()) {
      out->set_function_name((*choice)["function"].value("name", ""));
    } else {
      return FieldError("tool_choice",
                        "expected auto, none, required or a function");
    }
  }
  auto parallel = body.find("parallel_tool_calls");
  if (parallel != body.end() && parallel->is_boolean()) {
    request.set_parallel_tool_calls(parallel->get<bool>());
  }
  return absl::OkStatus();
}

absl::Status SetResponseFormat(const json& format,
                               v1::GenerationConfig& generation) {
  if (!format.is_object()) {
    return FieldError("response_format", "must be an object");
  }
  const std::string type = format.value("type", "");
  v1::ResponseFormat* out = generation.mutable_response_format();
  if (type == "text") {
    out->set_type(v1::RESPONSE_FORMAT_TYPE_TEXT);
  } else if (type == "json_object") {
    out->set_type(v1::RESPONSE_FORMAT_TYPE_JSON_OBJECT);
  } else if (type == "json_schema") {
    auto schema = format.find("json_schema");
    if (schema == format.end() || !schema->is_object() ||
        !schema->contains("schema")) {
      return FieldError("response_format.json_schema.schema", "is required");
    }
    out->set_type(v1::RESPONSE_FORMAT_TYPE_JSON_SCHEMA);
    out->set_schema_name(schema->value("name", ""));
    out->set_json_schema((*schema)["schema"].dump());
    out->set_strict(schema->value("strict", false));
  } else {
    return FieldError("response_format.type",
                      "expected text, json_object or json_schema");
  }
  return absl::OkStatus();
}

absl::Status SetGeneration(const json& body, v1::GenerationConfig& generation) {
  for (const auto& [key, value] : body.items()) {
    if (value.is_null()) continue;
    const bool number = value.is_number();
    if (key == "temperature" || key == "top_p" || key == "presence_penalty" ||
        key == "frequency_penalty") {
      if (!number) return FieldError(key, "must be a number");
      const float v = value.get<float>();
      if (key == "temperature") generation.set_temperature(v);
      if (key == "top_p") generation.set_top_p(v);
      if (key == "presence_penalty") generation.set_presence_penalty(v);
      if (key == "frequency_penalty") generation.set_frequency_penalty(v);
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      if (!value.is_number_integer()) {
        return FieldError(key, "must be an integer");
      }
      const int64_t tokens = value.get<int64_t>();
      if (tokens < 1 || tokens > 1048576) {
        return FieldError(key, "must be between 1 and 1048576");
      }
      generation.set_max_tokens(static_cast<int32_t>(tokens));
    } else if (key == "seed") {
      if (!value.is_number_integer())
        return FieldError(key, "must be an integer");
      generation.set_seed(value.get<int64_t>());
    } else if (key == "stop") {
      if (value.is_string()) {
        generation.add_stop(value.get<std::string>());
      } else if (value.is_array()) {
        for (const json& stop : value) {
          if (!stop.is_string()) return FieldError(key, "must hold strings");
          generation.add_stop(stop.get<std::string>());
        }
      } else {
        return FieldError(key, "must be a string or an array of strings");
      }
    } else if (key == "response_format") {
      absl::Status set = SetResponseFormat(value, generation);
      if (!set.ok()) return set;
    }
  }
  return absl::OkStatus();
}

// Fields this mapping reads (those of the upstream request the API types) or
// deliberately ignores; the rest pass to the backend as extra fields.
bool IsKnownField(const std::string& key) {
  return server::IsChatOwnedKey(key) || key == "n" || key == "user" ||
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

double Seconds(const google::protobuf::Duration& duration) {
  return static_cast<double>(TimeUtil::DurationToMilliseconds(duration)) /
         1000.0;
}

}  // namespace

absl::StatusOr<OpenAiChatRequest> ChatRequestFromJson(const std::string& body) {
  json document = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return absl::InvalidArgumentError("the request body must be a JSON object");
  }
  OpenAiChatRequest out;
  v1::ChatRequest& request = out.chat;
  absl::StatusOr<std::string> model = StringField(document, "model", "model");
  if (!model.ok()) return model.status();
  request.set_model(*model);
  auto messages = document.find("messages");
  if (messages == document.end() || !messages->is_array()) {
    return FieldError("messages", "is required and must be an array");
  }
  for (std::size_t i = 0; i < messages->size(); ++i) {
    absl::Status added =
        AddMessage((*messages)[i], absl::StrCat("messages[", i, "]"), request);
    if (!added.ok()) return added;
  }
  if (absl::Status set = SetGeneration(document, *request.mutable_generation());
      !set.ok()) {
    return set;
  }
  if (absl::Status set = SetTools(document, request); !set.ok()) return set;
  if (auto n = document.find("n");
      n != document.end() && !n->is_null() && *n != 1) {
    return FieldError("n", "only 1 is supported");
  }
  if (auto stream = document.find("stream");
      stream != document.end() && !stream->is_null()) {
    if (!stream->is_boolean()) return FieldError("stream", "must be a boolean");
    out.stream = stream->get<bool>();
  }
  if (auto options = document.find("stream_options");
      options != document.end() && options->is_object()) {
    out.include_usage = options->value("include_usage", false);
  }
  for (const auto& [key, value] : document.items()) {
    if (IsKnownField(key)) continue;
    (*request.mutable_backend_options())[key] =
        value.is_string() ? value.get<std::string>() : value.dump();
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

absl::StatusOr<v1::RecognitionConfig> RecognitionFromForm(
    const TranscriptionForm& form, bool translate) {
  v1::RecognitionConfig config;
  config.set_model(form.model);
  if (!form.language.empty()) config.add_language_codes(form.language);
  config.set_prompt(form.prompt);
  if (!form.temperature.empty()) {
    float temperature = 0;
    if (!absl::SimpleAtof(form.temperature, &temperature)) {
      return FieldError("temperature", "must be a number");
    }
    config.set_temperature(temperature);
  }
  if (translate) config.set_task(v1::TASK_TRANSLATE);
  const std::string& format = form.response_format;
  if (format == "srt") {
    config.add_output_formats(v1::OUTPUT_FORMAT_SRT);
  } else if (format == "vtt") {
    config.add_output_formats(v1::OUTPUT_FORMAT_VTT);
  } else if (format == "verbose_json") {
    config.set_enable_segment_timestamps(true);
  } else if (!format.empty() && format != "json" && format != "text") {
    return FieldError("response_format",
                      absl::StrCat("unknown format \"", format,
                                   "\"; expected json, text, srt, vtt or "
                                   "verbose_json"));
  }
  for (const std::string& granularity : form.timestamp_granularities) {
    if (granularity == "word") {
      config.set_enable_word_timestamps(true);
    } else if (granularity == "segment") {
      config.set_enable_segment_timestamps(true);
    } else {
      return FieldError("timestamp_granularities[]",
                        absl::StrCat("unknown granularity \"", granularity,
                                     "\"; expected word or segment"));
    }
  }
  return config;
}

TranscriptionBody TranscriptionResponseBody(
    const v1::TranscribeResponse& response, const TranscriptionForm& form,
    bool translate) {
  const std::string& format = form.response_format;
  if (format == "text")
    return {"text/plain; charset=utf-8", response.text() + "\n"};
  if (format == "srt") return {"application/x-subrip", response.srt()};
  if (format == "vtt") return {"text/vtt; charset=utf-8", response.vtt()};
  json body = {{"text", response.text()}};
  if (format == "verbose_json") {
    json segments = json::array();
    json words = json::array();
    for (const v1::Segment& segment : response.segments()) {
      segments.push_back({{"id", segment.id()},
                          {"seek", 0},
                          {"start", Seconds(segment.start_offset())},
                          {"end", Seconds(segment.end_offset())},
                          {"text", segment.text()},
                          {"tokens", json::array()},
                          {"temperature", 0.0},
                          {"avg_logprob", segment.avg_logprob()},
                          {"compression_ratio", 0.0},
                          {"no_speech_prob", segment.no_speech_prob()}});
      for (const v1::WordInfo& word : segment.words()) {
        words.push_back({{"word", word.word()},
                         {"start", Seconds(word.start_offset())},
                         {"end", Seconds(word.end_offset())}});
      }
    }
    body = {{"task", translate ? "translate" : "transcribe"},
            {"language", response.language_code()},
            {"duration", Seconds(response.audio_duration())},
            {"text", response.text()},
            {"segments", std::move(segments)}};
    if (!words.empty()) body["words"] = std::move(words);
  }
  if (response.warnings_size() > 0) {
    body["warnings"] = json(std::vector<std::string>(
        response.warnings().begin(), response.warnings().end()));
  }
  return {"application/json", body.dump()};
}

}  // namespace voxgate::http
