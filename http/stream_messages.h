#ifndef VOXGATE_HTTP_STREAM_MESSAGES_H_
#define VOXGATE_HTTP_STREAM_MESSAGES_H_

// The text messages of the WebSocket stream (/v1/stream/transcribe), read
// from caller bytes: the first is the StreamTranscribeConfig in the proto's
// JSON mapping, later ones are controls. Pure functions; every refusal is
// INVALID_ARGUMENT naming what is wrong.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/json_limits.h"
#include "voxgate/v1/stream.pb.h"

namespace voxgate::http {

// What one WebSocket text message may hold (its size is bounded by
// http.max_websocket_message_bytes before this).
inline constexpr JsonLimits kStreamMessageJsonLimits{
    /*max_bytes=*/16 << 20, /*max_depth=*/16, /*max_elements=*/10000,
    /*max_string_bytes=*/16 << 20};

enum class StreamControl {
  kFinalize,  // {"type": "finalize"}: end the utterance
  kEnd,       // {"type": "end"}: no more audio
};

absl::StatusOr<v1::StreamTranscribeConfig> StreamConfigFromJson(
    absl::string_view text);

absl::StatusOr<StreamControl> StreamControlFromJson(absl::string_view text);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_STREAM_MESSAGES_H_
