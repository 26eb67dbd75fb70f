#include "server/wire_messages.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace voxgate::server {
namespace {

// Set while this thread parses a request: protobuf's diagnostics land here.
thread_local std::string* t_parse_diagnostics = nullptr;

void OnProtobufLog(google::protobuf::LogLevel level, const char*, int,
                   const std::string& message) {
  if (t_parse_diagnostics != nullptr) {
    if (t_parse_diagnostics->empty()) *t_parse_diagnostics = message;
    return;
  }
  // Outside parsing (serializing a string an upstream sent that is not UTF-8,
  // say) the diagnostic has no call to go to; only fatal ones matter.
  if (level == google::protobuf::LOGLEVEL_FATAL) std::abort();
}

// "String field 'voxgate.v1.ContentPart.text' contains invalid UTF-8 data
// ..." -> "voxgate.v1.ContentPart.text".
std::string FieldNamedIn(const std::string& diagnostic) {
  const std::size_t open = diagnostic.find('\'');
  if (open == std::string::npos) return "";
  const std::size_t close = diagnostic.find('\'', open + 1);
  if (close == std::string::npos) return "";
  return diagnostic.substr(open + 1, close - open - 1);
}

}  // namespace

absl::Status ParseMessage(const grpc::ByteBuffer& bytes,
                          google::protobuf::Message& message) {
  std::string diagnostics;
  t_parse_diagnostics = &diagnostics;
  grpc::ByteBuffer copy(bytes);  // shares the slices; parsing consumes them
  const bool parsed =
      grpc::SerializationTraits<google::protobuf::Message>::Deserialize(
          &copy, &message)
          .ok();
  t_parse_diagnostics = nullptr;
  if (parsed) return absl::OkStatus();
  const std::string type = message.GetDescriptor()->full_name();
  if (absl::StrContains(diagnostics, "UTF-8")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request: string field ", FieldNamedIn(diagnostics), " of ", type,
        " is not valid UTF-8; strings must be UTF-8 (send binary data in "
        "bytes fields)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("request: not a valid ", type, " message"));
}

grpc::ByteBuffer SerializeMessage(const google::protobuf::Message& message) {
  grpc::ByteBuffer bytes;
  bool own_buffer;
  grpc::SerializationTraits<google::protobuf::Message>::Serialize(
      message, &bytes, &own_buffer);
  return bytes;
}

void CaptureProtobufDiagnostics() {
  google::protobuf::SetLogHandler(&OnProtobufLog);
}

}  // namespace voxgate::server
