#ifndef VOXGATE_SERVER_WIRE_MESSAGES_H_
#define VOXGATE_SERVER_WIRE_MESSAGES_H_

#include <cstdint>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace voxgate::server {

// The service takes its messages as bytes and parses them itself, so that a
// message gRPC cannot parse (a string field that is not UTF-8, a truncated
// message) gets INVALID_ARGUMENT naming the field, a log line and metrics,
// like any other bad request. gRPC's own parsing refuses such a message with
// an empty status and never reaches the handler.

// Fields (each element of a repeated field counts one) a request message may
// hold, counted over the wire before it is parsed.
inline constexpr int64_t kMaxMessageElements = 200000;

// Parses `bytes` into `message`; INVALID_ARGUMENT naming the message type and,
// for invalid UTF-8, the field; or naming kMaxMessageElements.
absl::Status ParseMessage(const grpc::ByteBuffer& bytes,
                          google::protobuf::Message& message);

// `message` serialized for gRPC.
grpc::ByteBuffer SerializeMessage(const google::protobuf::Message& message);

// Sends protobuf's own diagnostics to ParseMessage's error instead of stderr
// (where plain lines would break the JSON log). Call once, before serving.
void CaptureProtobufDiagnostics();

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_WIRE_MESSAGES_H_
