#include "operations/chat_mapping.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "operations/field_checks.h"

namespace voxgate::operations {
namespace {

constexpr int kMaxMessages = 1024;
constexpr int kMaxTools = 128;
constexpr int kMaxToolCalls = 128;
constexpr std::size_t kMaxToolDescription = 4096;
constexpr std::size_t kMaxToolSchema = 64 * 1024;
constexpr std::size_t kMaxToolArguments = 64 * 1024;
constexpr std::size_t kMaxToolCallId = 256;

// Top-level fields of the upstream requests that typed fields of the API set
// (or the gateway itself): backend_options may not replace them.
const std::set<absl::string_view>& ChatOwnedKeys() {
  static const auto* keys =
      new std::set<absl::string_view>{"model",
                                      "messages",
                                      "stream",
                                      "stream_options",
                                      "temperature",
                                      "top_p",
                                      "max_tokens",
                                      "max_completion_tokens",
                                      "stop",
                                      "seed",
                                      "presence_penalty",
                                      "frequency_penalty",
                                      "response_format",
                                      "tools",
                                      "tool_choice",
                                      "parallel_tool_calls"};
  return *keys;
}

const char* RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_SYSTEM:
      return "system";
    case v1::ROLE_USER:
      return "user";
    case v1::ROLE_ASSISTANT:
      return "assistant";
    case v1::ROLE_TOOL:
      return "tool";
    case v1::ROLE_DEVELOPER:
      return "developer";
    default:
      return nullptr;
  }
}

// OpenAI's rule for function names.
bool IsFunctionName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::vector<upstream::ToolCall>> ToolCallsFor(
    const v1::ChatMessage& message, const std::string& field) {
  std::vector<upstream::ToolCall> calls;
  if (message.tool_calls_size() == 0) return calls;
  if (message.role() != v1::ROLE_ASSISTANT) {
    return FieldError(field + ".tool_calls",
                      "only assistant messages carry them");
  }
  if (message.tool_calls_size() > kMaxToolCalls) {
    return FieldError(field + ".tool_calls",
                      absl::StrCat("at most ", kMaxToolCalls));
  }
  for (int i = 0; i < message.tool_calls_size(); ++i) {
    const v1::ToolCall& call = message.tool_calls(i);
    const std::string entry = absl::StrCat(field, ".tool_calls[", i, "]");
    if (call.id().empty() || call.id().size() > kMaxToolCallId) {
      return FieldError(entry + ".id",
                        absl::StrCat("1 to ", kMaxToolCallId, " characters"));
    }
    if (!IsFunctionName(call.name())) {
      return FieldError(entry + ".name", "must match [a-zA-Z0-9_-]{1,64}");
    }
    if (call.arguments().size() > kMaxToolArguments) {
      return FieldError(entry + ".arguments",
                        absl::StrCat("up to ", kMaxToolArguments, " bytes"));
    }
    calls.push_back({call.id(), call.name(), call.arguments()});
  }
  return calls;
}

absl::Status AppendParts(const v1::ChatMessage& message,
                         const std::string& field, int index,
                         upstream::ChatMessage& out,
                         std::vector<std::pair<int, int>>& to_convert) {
  for (int j = 0; j < message.content_size(); ++j) {
    const v1::ContentPart& part = message.content(j);
    switch (part.part_case()) {
      case v1::ContentPart::kText:
        out.parts.push_back(upstream::ChatPart::Text(part.text()));
        break;
      case v1::ContentPart::kImageUrl: {
        upstream::ChatPart image;
        image.kind = upstream::ChatPart::Kind::kImageUrl;
        image.url = part.image_url().url();
        image.detail = part.image_url().detail();
        out.parts.push_back(std::move(image));
        break;
      }
      case v1::ContentPart::kAudio: {
        const v1::AudioEncoding encoding = part.audio().format().encoding();
        if (part.audio().content().empty()) {
          return FieldError(
              absl::StrCat(field, ".content[", j, "].audio.content"),
              "is empty");
        }
        const bool passes = encoding == v1::AUDIO_ENCODING_WAV ||
                            encoding == v1::AUDIO_ENCODING_MP3;
        out.parts.push_back(upstream::ChatPart::Audio(
            part.audio().content(),
            encoding == v1::AUDIO_ENCODING_MP3 ? "mp3" : "wav"));
        if (!passes)
          to_convert.emplace_back(index,
                                  static_cast<int>(out.parts.size() - 1));
        break;
      }
      default:
        return FieldError(absl::StrCat(field, ".content[", j, "]"), "is empty");
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsChatOwnedKey(absl::string_view key) {
  return ChatOwnedKeys().count(key) > 0;
}

absl::Status AppendMessages(
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages,
    const std::string& field, upstream::ChatRequest& chat,
    std::vector<std::pair<int, int>>& to_convert) {
  for (int i = 0; i < messages.size(); ++i) {
    const v1::ChatMessage& message = messages.Get(i);
    const std::string entry = absl::StrCat(field, "[", i, "]");
    const char* role = RoleName(message.role());
    if (role == nullptr) return FieldError(entry + ".role", "is required");
    upstream::ChatMessage out;
    out.role = role;
    out.name = message.name();
    out.tool_call_id = message.tool_call_id();
    absl::StatusOr<std::vector<upstream::ToolCall>> calls =
        ToolCallsFor(message, entry);
    if (!calls.ok()) return calls.status();
    out.tool_calls = *std::move(calls);
    if (message.content_size() == 0 && out.tool_calls.empty()) {
      return FieldError(entry + ".content", "at least one part is required");
    }
    if (message.role() == v1::ROLE_TOOL && message.tool_call_id().empty()) {
      return FieldError(entry + ".tool_call_id",
                        "is required on a ROLE_TOOL message (the id of the "
                        "call it answers)");
    }
    if (absl::Status parts =
            AppendParts(message, entry, static_cast<int>(chat.messages.size()),
                        out, to_convert);
        !parts.ok()) {
      return parts;
    }
    chat.messages.push_back(std::move(out));
  }
  return absl::OkStatus();
}

absl::Status SetTools(const google::protobuf::RepeatedPtrField<v1::Tool>& tools,
                      const v1::ToolChoice& choice, bool has_choice,
                      std::optional<bool> parallel_tool_calls,
                      const std::string& prefix, upstream::ChatRequest& chat) {
  if (tools.size() > kMaxTools) {
    return FieldError(prefix + "tools", absl::StrCat("at most ", kMaxTools));
  }
  std::set<std::string> names;
  for (int i = 0; i < tools.size(); ++i) {
    const v1::Tool& tool = tools.Get(i);
    const std::string field = absl::StrCat(prefix, "tools[", i, "]");
    if (!IsFunctionName(tool.name())) {
      return FieldError(field + ".name", "must match [a-zA-Z0-9_-]{1,64}");
    }
    if (!names.insert(tool.name()).second) {
      return FieldError(field + ".name", absl::StrCat("\"", tool.name(),
                                                      "\" is declared twice"));
    }
    if (tool.description().size() > kMaxToolDescription) {
      return FieldError(field + ".description",
                        absl::StrCat("up to ", kMaxToolDescription, " bytes"));
    }
    if (absl::Status schema =
            CheckJsonDocument(field + ".parameters_json",
                              tool.parameters_json(), kMaxToolSchema, false);
        !schema.ok()) {
      return schema;
    }
    chat.tools.push_back({tool.name(), tool.description(),
                          tool.parameters_json(), tool.strict()});
  }
  const std::string choice_field = prefix + "tool_choice";
  if (has_choice && tools.empty()) {
    return FieldError(choice_field, "requires tools");
  }
  switch (choice.choice_case()) {
    case v1::ToolChoice::kMode:
      switch (choice.mode()) {
        case v1::TOOL_CHOICE_MODE_AUTO:
          chat.tool_choice = "auto";
          break;
        case v1::TOOL_CHOICE_MODE_NONE:
          chat.tool_choice = "none";
          break;
        case v1::TOOL_CHOICE_MODE_REQUIRED:
          chat.tool_choice = "required";
          break;
        default:
          break;
      }
      break;
    case v1::ToolChoice::kFunctionName:
      if (!names.count(choice.function_name())) {
        return FieldError(choice_field + ".function_name",
                          absl::StrCat("\"", choice.function_name(),
                                       "\" is not one of the tools"));
      }
      chat.tool_choice_function = choice.function_name();
      break;
    default:
      break;
  }
  if (parallel_tool_calls && tools.empty()) {
    return FieldError(prefix + "parallel_tool_calls", "requires tools");
  }
  chat.parallel_tool_calls = parallel_tool_calls;
  return absl::OkStatus();
}

absl::StatusOr<upstream::ChatParams> ChatParamsFor(
    const v1::GenerationConfig& generation, absl::string_view field) {
  upstream::ChatParams params;
  // Each real-valued field: its range, then the value the caller meant.
  auto real = [&](absl::string_view name, bool present, float value, float low,
                  float high, std::optional<double>& out) -> absl::Status {
    if (!present) return absl::OkStatus();
    if (absl::Status s =
            CheckRange<float>(absl::StrCat(field, ".", name), value, low, high);
        !s.ok()) {
      return s;
    }
    out = MeantValue(value);
    return absl::OkStatus();
  };
  for (absl::Status s :
       {real("temperature", generation.has_temperature(),
             generation.temperature(), 0, 2, params.temperature),
        real("top_p", generation.has_top_p(), generation.top_p(), 0, 1,
             params.top_p),
        real("presence_penalty", generation.has_presence_penalty(),
             generation.presence_penalty(), -2, 2, params.presence_penalty),
        real("frequency_penalty", generation.has_frequency_penalty(),
             generation.frequency_penalty(), -2, 2,
             params.frequency_penalty)}) {
    if (!s.ok()) return s;
  }
  if (generation.has_max_tokens()) {
    if (absl::Status s = CheckRange(absl::StrCat(field, ".max_tokens"),
                                    generation.max_tokens(), 1, 1048576);
        !s.ok()) {
      return s;
    }
    params.max_tokens = generation.max_tokens();
  }
  if (generation.stop_size() > 4)
    return FieldError(absl::StrCat(field, ".stop"), "at most 4");
  params.stop.assign(generation.stop().begin(), generation.stop().end());
  if (generation.has_seed()) params.seed = generation.seed();
  const v1::ResponseFormat& format = generation.response_format();
  switch (format.type()) {
    case v1::RESPONSE_FORMAT_TYPE_JSON_OBJECT:
      params.response_format = "json_object";
      break;
    case v1::RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
      if (absl::Status s = CheckJsonDocument(
              absl::StrCat(field, ".response_format.json_schema"),
              format.json_schema(), 65536, true);
          !s.ok()) {
        return s;
      }
      params.response_format = "json_schema";
      params.json_schema = format.json_schema();
      params.json_schema_name = format.schema_name();
      params.json_schema_strict = format.strict();
      break;
    default:
      break;
  }
  return params;
}

absl::StatusOr<upstream::ChatRequest> ChatRequestFor(
    const v1::ChatRequest& request,
    std::vector<std::pair<int, int>>& to_convert) {
  upstream::ChatRequest chat;
  chat.model = request.model();
  if (request.messages_size() == 0 || request.messages_size() > kMaxMessages) {
    return FieldError("messages", absl::StrCat("1 to ", kMaxMessages,
                                               " messages are required"));
  }
  if (absl::Status messages =
          AppendMessages(request.messages(), "messages", chat, to_convert);
      !messages.ok()) {
    return messages;
  }
  if (absl::Status tools = SetTools(
          request.tools(), request.tool_choice(), request.has_tool_choice(),
          request.has_parallel_tool_calls()
              ? std::optional<bool>(request.parallel_tool_calls())
              : std::nullopt,
          "", chat);
      !tools.ok()) {
    return tools;
  }
  absl::StatusOr<upstream::ChatParams> params =
      ChatParamsFor(request.generation(), "generation");
  if (!params.ok()) return params.status();
  chat.params = *std::move(params);
  if (absl::Status options_ok =
          CheckBackendOptions(request.backend_options(), "backend_options",
                              ChatOwnedKeys(), 16 * 1024);
      !options_ok.ok()) {
    return options_ok;
  }
  for (const auto& [key, value] : request.backend_options()) {
    chat.params.extra.emplace_back(key, value);
  }
  return chat;
}

void ApplyModelDefaults(const config::v1::Config& config,
                        const std::string& pool,
                        const std::string& requested_model,
                        upstream::ChatRequest& chat) {
  const config::v1::PoolConfig* pool_config = nullptr;
  for (const config::v1::PoolConfig& candidate : config.pools()) {
    if (candidate.name() == pool) pool_config = &candidate;
  }
  if (pool_config == nullptr || pool_config->model_defaults().empty()) return;
  const auto& table = pool_config->model_defaults();
  std::string model = requested_model == pool ? "" : requested_model;
  if (model.empty() && !pool_config->models().empty()) {
    model = pool_config->models(0);
  }
  auto entry = table.find(model);
  if (entry == table.end()) entry = table.find("");
  if (entry == table.end()) return;
  const config::v1::ModelDefaults& defaults = entry->second;
  upstream::ChatParams& params = chat.params;
  if (!params.temperature && defaults.has_temperature())
    params.temperature = MeantValue(defaults.temperature());
  if (!params.top_p && defaults.has_top_p())
    params.top_p = MeantValue(defaults.top_p());
  if (!params.max_tokens && defaults.has_max_tokens())
    params.max_tokens = defaults.max_tokens();
  const bool has_system = std::any_of(
      chat.messages.begin(), chat.messages.end(),
      [](const upstream::ChatMessage& message) {
        return message.role == "system" || message.role == "developer";
      });
  if (!defaults.system_prompt().empty() && !has_system) {
    chat.messages.insert(
        chat.messages.begin(),
        upstream::ChatMessage::Of(
            "system", {upstream::ChatPart::Text(defaults.system_prompt())}));
  }
}

v1::FinishReason FinishReasonFor(absl::string_view reason) {
  if (reason == "stop") return v1::FINISH_REASON_STOP;
  if (reason == "length") return v1::FINISH_REASON_LENGTH;
  if (reason == "content_filter") return v1::FINISH_REASON_CONTENT_FILTER;
  if (reason == "tool_calls" || reason == "function_call")
    return v1::FINISH_REASON_TOOL_CALLS;
  return v1::FINISH_REASON_UNSPECIFIED;
}

void FillToolCalls(const std::vector<upstream::ToolCall>& calls,
                   google::protobuf::RepeatedPtrField<v1::ToolCall>& out) {
  for (const upstream::ToolCall& call : calls) {
    v1::ToolCall* entry = out.Add();
    entry->set_id(call.id);
    entry->set_name(call.name);
    entry->set_arguments(call.arguments);
  }
}

void FillToolCallDeltas(
    const std::vector<upstream::ToolCallDelta>& deltas,
    google::protobuf::RepeatedPtrField<v1::ToolCallDelta>& out) {
  for (const upstream::ToolCallDelta& delta : deltas) {
    v1::ToolCallDelta* entry = out.Add();
    entry->set_index(delta.index);
    entry->set_id(delta.id);
    entry->set_name(delta.name);
    entry->set_arguments(delta.arguments);
  }
}

}  // namespace voxgate::operations
