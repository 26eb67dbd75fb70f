#ifndef VOXGATE_OPERATIONS_CHAT_MAPPING_H_
#define VOXGATE_OPERATIONS_CHAT_MAPPING_H_

// Between the public chat API (voxgate.v1 ChatRequest, Analyze's conversation
// fields) and the upstream chat types: validation naming the field, and tool
// calls both ways. Pure functions.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "upstream/types.h"
#include "voxgate/config/v1/config.pb.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::operations {

// Whether `key` is a top-level field of the upstream chat request that typed
// fields of the API set (or the gateway itself): backend_options may not
// replace it.
bool IsChatOwnedKey(absl::string_view key);

// The upstream form of a chat request. Audio parts in WAV or MP3 pass through;
// others are listed in `to_convert` (message, part) for the caller to
// transcode.
absl::StatusOr<upstream::ChatRequest> ChatRequestFor(
    const v1::ChatRequest& request,
    std::vector<std::pair<int, int>>& to_convert);

// Appends `messages` (checked, named `field`[i]) to `chat`; audio parts to
// transcode go to `to_convert` with their index in chat.messages.
absl::Status AppendMessages(
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages,
    const std::string& field, upstream::ChatRequest& chat,
    std::vector<std::pair<int, int>>& to_convert);

// Sets chat.tools, tool_choice and parallel_tool_calls from the API's fields
// (`prefix` names them in errors, "" for ChatRequest).
absl::Status SetTools(const google::protobuf::RepeatedPtrField<v1::Tool>& tools,
                      const v1::ToolChoice& choice, bool has_choice,
                      std::optional<bool> parallel_tool_calls,
                      const std::string& prefix, upstream::ChatRequest& chat);

// Sampling parameters (shared by Chat and Analyze).
absl::StatusOr<upstream::ChatParams> ChatParamsFor(
    const v1::GenerationConfig& generation, absl::string_view field);

// Fills what `chat` leaves unset from pools[pool].model_defaults: the entry of
// the model asked for (or of the pool's default model), else the "" entry.
void ApplyModelDefaults(const config::v1::Config& config,
                        const std::string& pool,
                        const std::string& requested_model,
                        upstream::ChatRequest& chat);

v1::FinishReason FinishReasonFor(absl::string_view reason);

void FillToolCalls(const std::vector<upstream::ToolCall>& calls,
                   google::protobuf::RepeatedPtrField<v1::ToolCall>& out);
void FillToolCallDeltas(
    const std::vector<upstream::ToolCallDelta>& deltas,
    google::protobuf::RepeatedPtrField<v1::ToolCallDelta>& out);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_CHAT_MAPPING_H_
