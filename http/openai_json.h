#ifndef VOXGATE_HTTP_OPENAI_JSON_H_
#define VOXGATE_HTTP_OPENAI_JSON_H_

// Between the OpenAI HTTP API's JSON and voxgate.v1 messages, both ways.
// Requests become the same v1 messages gRPC callers send, so both doors run
// one operation; errors name the field as OpenAI callers spell it
// ("messages[0].content[1].input_audio.data"). Pure functions.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json_limits.h"
#include "nlohmann/json.hpp"
#include "voxgate/v1/chat.pb.h"
#include "voxgate/v1/models.pb.h"

namespace voxgate::http {

// What a JSON request body may hold; checked before any tree is built. The
// body's size is bounded by server.max_receive_message_bytes before this.
inline constexpr JsonLimits kRequestJsonLimits{
    /*max_bytes=*/64 << 20, /*max_depth=*/64, /*max_elements=*/100000,
    /*max_string_bytes=*/64 << 20};

struct OpenAiChatRequest {
  v1::ChatRequest chat;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// POST /v1/chat/completions. INVALID_ARGUMENT naming the field for what the
// gateway cannot take (n > 1, a malformed part); unknown top-level fields go
// to the backend as extra request fields (backend_options).
absl::StatusOr<OpenAiChatRequest> ChatRequestFromJson(const std::string& body);

// Whether a chat body asks for a stream ("stream": true), for a body that
// ChatRequestFromJson refused: its call is still ChatStream's.
bool AsksForStream(const std::string& body);

// The chat.completion object.
nlohmann::json ChatCompletionJson(const v1::ChatResponse& response,
                                  int64_t created);

// One chat.completion.chunk of a stream with id "chatcmpl-<request_id>".
// The first carries the assistant role.
nlohmann::json ChatChunkJson(const v1::ChatChunk& chunk,
                             const std::string& request_id,
                             const std::string& model, int64_t created,
                             bool first);
// The usage chunk stream_options.include_usage asks for (no choices).
nlohmann::json UsageChunkJson(const v1::Usage& usage,
                              const std::string& request_id,
                              const std::string& model, int64_t created);

// GET /v1/models: the list object, one entry per model id.
nlohmann::json ModelsJson(const v1::ListModelsResponse& models);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_OPENAI_JSON_H_
