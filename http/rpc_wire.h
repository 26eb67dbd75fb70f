#ifndef VOXGATE_HTTP_RPC_WIRE_H_
#define VOXGATE_HTTP_RPC_WIRE_H_

// Every RPC over plain HTTP, as the two standard protocols carry it:
// the Connect protocol (connectrpc.com/docs/protocol: unary as bare JSON or
// proto, GET for side-effect-free methods, streams as enveloped messages with
// an end-of-stream message) and gRPC-Web (enveloped messages with the
// trailers in the body; -text base64-encodes the body). Messages use
// protobuf's own codecs (binary, and the JSON mapping); pure functions.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "http/http_types.h"

namespace voxgate::http {

enum class RpcProtocol {
  kConnectUnary,   // application/json, application/proto (and GET)
  kConnectStream,  // application/connect+json, application/connect+proto
  kGrpcWeb,        // application/grpc-web(+proto|+json)
  kGrpcWebText,    // application/grpc-web-text(+proto)
};

struct RpcWire {
  RpcProtocol protocol = RpcProtocol::kConnectUnary;
  bool json = false;         // the JSON mapping, else protobuf binary
  std::string content_type;  // of the response
  // Whether messages travel in envelopes (5-byte prefix), as in streams and
  // every gRPC-Web call.
  bool enveloped() const { return protocol != RpcProtocol::kConnectUnary; }
  bool grpc_web() const {
    return protocol == RpcProtocol::kGrpcWeb ||
           protocol == RpcProtocol::kGrpcWebText;
  }
};

// Whether `content_type` is one of the RPC protocols' (the HTTP door routes
// RPC paths by it).
bool IsRpcContentType(absl::string_view content_type);
// The wire of a POST with `content_type`; INVALID_ARGUMENT naming the
// content type otherwise.
absl::StatusOr<RpcWire> RpcWireFor(absl::string_view content_type);

// A Connect GET: ?encoding=json|proto&message=...[&base64=1]&connect=v1.
// Fills `request` and `wire`; INVALID_ARGUMENT naming the query parameter.
absl::Status ParseConnectGet(absl::string_view query, RpcWire& wire,
                             google::protobuf::Message& request);

// The request message of a POST body: bare (Connect unary) or one envelope
// (base64 first for gRPC-Web text). INVALID_ARGUMENT names what is wrong; a
// compressed envelope is refused with the unimplemented code (send
// identity).
absl::Status ParseRpcRequest(const RpcWire& wire, absl::string_view body,
                             google::protobuf::Message& request);

// One response message as the wire carries it: bare, or an envelope (base64
// for gRPC-Web text).
std::string RpcMessageBytes(const RpcWire& wire,
                            const google::protobuf::Message& message);

// The end of a stream or gRPC-Web call: Connect's end-of-stream message
// ({"error": ...} or {}), or gRPC-Web's trailers frame (grpc-status,
// grpc-message, grpc-status-details-bin), base64 for text.
std::string RpcEndBytes(const RpcWire& wire, const absl::Status& status);

// Connect's unary error: its HTTP status and JSON body ({"code", "message",
// "details": [{"type", "value"}]} with RetryInfo and the like from the
// status's payloads).
int ConnectHttpStatus(absl::StatusCode code);
std::string ConnectErrorJson(const absl::Status& status);

// The caller's timeout: connect-timeout-ms (Connect) or grpc-timeout
// (gRPC-Web); InfiniteDuration when none; INVALID_ARGUMENT naming the header
// when malformed.
absl::StatusOr<absl::Duration> RpcTimeout(const RpcWire& wire,
                                          const HttpRequest& request);

// Connect's protocol version header or GET parameter, when present, must be
// 1; INVALID_ARGUMENT otherwise.
absl::Status CheckConnectVersion(const RpcWire& wire,
                                 const HttpRequest& request);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_RPC_WIRE_H_
