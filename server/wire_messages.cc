#include "server/wire_messages.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/impl/codegen/proto_buffer_reader.h"
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

using ::google::protobuf::internal::WireFormatLite;

// Spends one unit of `budget` per field read (each element of a repeated
// field is one) down the message tree, skipping values; false once the
// budget is spent. Malformed bytes end the count (true): the parse that
// follows refuses them. Nested past protobuf's own recursion limit (100),
// the count stops too, and the parse refuses the message.
bool WithinElementBudget(google::protobuf::io::CodedInputStream& in,
                         const google::protobuf::Descriptor* type,
                         int64_t& budget, int depth) {
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return true;
    if (--budget < 0) return false;
    const google::protobuf::FieldDescriptor* field =
        type == nullptr ? nullptr
                        : type->FindFieldByNumber(
                              WireFormatLite::GetTagFieldNumber(tag));
    const bool nested =
        field != nullptr &&
        field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (!nested) {
      if (!WireFormatLite::SkipField(&in, tag)) return true;
      continue;
    }
    uint32_t length;
    if (!in.ReadVarint32(&length) || depth >= 100) return true;
    const auto limit = in.PushLimit(static_cast<int>(length));
    if (!WithinElementBudget(in, field->message_type(), budget, depth + 1)) {
      return false;
    }
    if (!in.ConsumedEntireMessage()) return true;
    in.PopLimit(limit);
  }
}

}  // namespace

absl::Status ParseMessage(const grpc::ByteBuffer& bytes,
                          google::protobuf::Message& message) {
  {
    // Counted before anything is built: 32 MiB of empty repeated messages
    // would otherwise parse into gigabytes.
    grpc::ByteBuffer counted(bytes);
    grpc::ProtoBufferReader reader(&counted);
    google::protobuf::io::CodedInputStream in(&reader);
    in.SetTotalBytesLimit(std::numeric_limits<int>::max());
    int64_t budget = kMaxMessageElements;
    if (!WithinElementBudget(in, message.GetDescriptor(), budget, 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request: more than ", kMaxMessageElements,
          " fields and repeated elements in one ",
          message.GetDescriptor()->full_name()));
    }
  }
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
