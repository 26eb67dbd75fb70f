#include "http/stream_messages.h"

#include <string>

#include "common/json_reader.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace voxgate::http {

absl::StatusOr<v1::StreamTranscribeConfig> StreamConfigFromJson(
    absl::string_view text) {
  // Protobuf's JSON parser has its own depth limit; the count and size
  // limits are ours, checked before it builds anything.
  RETURN_IF_ERROR(CheckJson(text, "config", kStreamMessageJsonLimits));
  v1::StreamTranscribeConfig config;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &config);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        ValidUtf8("config: " + std::string(parsed.message())));
  }
  return config;
}

absl::StatusOr<StreamControl> StreamControlFromJson(absl::string_view text) {
  static constexpr char kExpected[] =
      "a text message must be {\"type\": \"finalize\"} or {\"type\": "
      "\"end\"}";
  absl::StatusOr<nlohmann::json> control =
      ParseCallerJson(text, "message", kStreamMessageJsonLimits);
  if (!control.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(control.status().message(), "; ", kExpected));
  }
  absl::StatusOr<JsonReader> reader = JsonReader::Object(*control, "message");
  if (!reader.ok()) return absl::InvalidArgumentError(kExpected);
  ASSIGN_OR_RETURN(const std::string type, reader->String("type"));
  if (type == "finalize") return StreamControl::kFinalize;
  if (type == "end") return StreamControl::kEnd;
  return absl::InvalidArgumentError(kExpected);
}

}  // namespace voxgate::http
