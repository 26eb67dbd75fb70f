#include "http/rpc_wire.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "call/status_details.h"
#include "google/protobuf/util/json_util.h"
#include "http/url_query.h"
#include "nlohmann/json.hpp"

namespace voxgate::http {
namespace {

constexpr std::size_t kEnvelopeHeader = 5;
constexpr uint8_t kCompressedFlag = 0x01;
constexpr uint8_t kConnectEndFlag = 0x02;
constexpr uint8_t kGrpcWebTrailersFlag = 0x80;

std::string Envelope(uint8_t flags, absl::string_view data) {
  std::string out;
  out.reserve(kEnvelopeHeader + data.size());
  out.push_back(static_cast<char>(flags));
  const uint32_t size = static_cast<uint32_t>(data.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((size >> shift) & 0xff));
  }
  out.append(data.data(), data.size());
  return out;
}

// gRPC-Web text bodies are base64, possibly as several padded chunks.
absl::StatusOr<std::string> DecodeText(absl::string_view body) {
  std::string out;
  while (!body.empty()) {
    std::size_t end = body.find('=');
    if (end == absl::string_view::npos) {
      end = body.size();
    } else {
      while (end < body.size() && body[end] == '=') ++end;
    }
    std::string piece;
    if (!absl::Base64Unescape(body.substr(0, end), &piece)) {
      return absl::InvalidArgumentError(
          "the body is not base64, as application/grpc-web-text needs");
    }
    out += piece;
    body.remove_prefix(end);
  }
  return out;
}

std::string MessageText(const RpcWire& wire,
                        const google::protobuf::Message& message) {
  std::string out;
  if (wire.json) {
    google::protobuf::util::JsonPrintOptions options;
    (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  } else {
    message.SerializeToString(&out);
  }
  return out;
}

absl::Status ParseMessage(bool json, absl::string_view data,
                          google::protobuf::Message& message) {
  if (json) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // as Connect's own servers do
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(data.data(), data.size()), &message,
        options);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the body is not a ", message.GetTypeName(), " in the JSON mapping: ",
          std::string(parsed.message()).substr(0, 200)));
    }
    return absl::OkStatus();
  }
  if (!message.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the body is not a ", message.GetTypeName(), " in protobuf binary"));
  }
  return absl::OkStatus();
}

const char* ConnectCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "ok";
    case absl::StatusCode::kCancelled:
      return "canceled";
    case absl::StatusCode::kUnknown:
      return "unknown";
    case absl::StatusCode::kInvalidArgument:
      return "invalid_argument";
    case absl::StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kAlreadyExists:
      return "already_exists";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    case absl::StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case absl::StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case absl::StatusCode::kAborted:
      return "aborted";
    case absl::StatusCode::kOutOfRange:
      return "out_of_range";
    case absl::StatusCode::kUnimplemented:
      return "unimplemented";
    case absl::StatusCode::kInternal:
      return "internal";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kDataLoss:
      return "data_loss";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
  }
  return "unknown";
}

nlohmann::json ConnectError(const absl::Status& status) {
  const google::rpc::Status proto = call::StatusToProto(status);
  nlohmann::json error = {{"code", ConnectCode(status.code())},
                          {"message", proto.message()}};
  nlohmann::json details = nlohmann::json::array();
  for (const google::protobuf::Any& any : proto.details()) {
    const std::string& url = any.type_url();
    std::string value = absl::Base64Escape(any.value());
    while (!value.empty() && value.back() == '=') value.pop_back();
    details.push_back(
        {{"type", url.substr(url.rfind('/') + 1)}, {"value", value}});
  }
  if (!details.empty()) error["details"] = std::move(details);
  return error;
}

// grpc-message is percent-encoded: printable ASCII but '%' as is.
std::string PercentEncode(absl::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7e && c != '%') {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "%",
                      absl::AsciiStrToUpper(
                          absl::BytesToHexString(absl::string_view(&c, 1))));
    }
  }
  return out;
}

}  // namespace

bool IsRpcContentType(absl::string_view content_type) {
  return RpcWireFor(content_type).ok();
}

absl::StatusOr<RpcWire> RpcWireFor(absl::string_view content_type) {
  const std::string type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(
      content_type.substr(0, content_type.find(';'))));
  RpcWire wire;
  wire.content_type = type;
  if (type == "application/json" || type == "application/proto") {
    wire.protocol = RpcProtocol::kConnectUnary;
    wire.json = type == "application/json";
    return wire;
  }
  if (type == "application/connect+json" ||
      type == "application/connect+proto") {
    wire.protocol = RpcProtocol::kConnectStream;
    wire.json = type == "application/connect+json";
    return wire;
  }
  if (type == "application/grpc-web" || type == "application/grpc-web+proto" ||
      type == "application/grpc-web+json") {
    wire.protocol = RpcProtocol::kGrpcWeb;
    wire.json = type == "application/grpc-web+json";
    return wire;
  }
  if (type == "application/grpc-web-text" ||
      type == "application/grpc-web-text+proto") {
    wire.protocol = RpcProtocol::kGrpcWebText;
    return wire;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "content-type: \"", type.substr(0, 100),
      "\" is not an RPC encoding; use application/json or application/proto "
      "(Connect), application/connect+json or +proto (Connect streams), or "
      "application/grpc-web+proto or grpc-web-text (gRPC-Web)"));
}

absl::Status ParseConnectGet(absl::string_view query, RpcWire& wire,
                             google::protobuf::Message& request) {
  const absl::StatusOr<QueryParams> params = ParseQuery(query);
  if (!params.ok()) return params.status();
  const std::string encoding = params->Get("encoding").value_or("");
  if (encoding != "json" && encoding != "proto") {
    return absl::InvalidArgumentError(
        "encoding: a Connect GET names encoding=json or encoding=proto");
  }
  wire.protocol = RpcProtocol::kConnectUnary;
  wire.json = encoding == "json";
  wire.content_type = wire.json ? "application/json" : "application/proto";
  if (const auto compression = params->Get("compression");
      compression.has_value() && *compression != "identity") {
    return absl::UnimplementedError(
        "compression: only identity; send the message uncompressed");
  }
  if (const auto version = params->Get("connect");
      version.has_value() && *version != "v1") {
    return absl::InvalidArgumentError("connect: only v1 is known");
  }
  std::string message = params->Get("message").value_or("");
  if (params->Get("base64").value_or("") == "1") {
    std::string decoded;
    if (!absl::WebSafeBase64Unescape(message, &decoded)) {
      return absl::InvalidArgumentError(
          "message: not URL-safe base64 (base64=1)");
    }
    message = std::move(decoded);
  }
  return ParseMessage(wire.json, message, request);
}

absl::Status ParseRpcRequest(const RpcWire& wire, absl::string_view body,
                             google::protobuf::Message& request) {
  if (!wire.enveloped()) return ParseMessage(wire.json, body, request);
  std::string decoded;
  if (wire.protocol == RpcProtocol::kGrpcWebText) {
    absl::StatusOr<std::string> text = DecodeText(body);
    if (!text.ok()) return text.status();
    decoded = *std::move(text);
    body = decoded;
  }
  if (body.size() < kEnvelopeHeader) {
    return absl::InvalidArgumentError(
        "the body holds no enveloped message (5-byte prefix, then the "
        "message)");
  }
  const auto flags = static_cast<uint8_t>(body[0]);
  uint32_t size = 0;
  for (int i = 1; i < 5; ++i) {
    size = (size << 8) | static_cast<uint8_t>(body[i]);
  }
  if (flags & kCompressedFlag) {
    return absl::UnimplementedError(
        "the request message is compressed; send it uncompressed (identity)");
  }
  if (body.size() - kEnvelopeHeader != size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the envelope says ", size, " bytes, the body holds ",
        body.size() - kEnvelopeHeader, "; send exactly one request message"));
  }
  return ParseMessage(wire.json, body.substr(kEnvelopeHeader), request);
}

std::string RpcMessageBytes(const RpcWire& wire,
                            const google::protobuf::Message& message) {
  std::string text = MessageText(wire, message);
  if (!wire.enveloped()) return text;
  std::string framed = Envelope(0, text);
  if (wire.protocol == RpcProtocol::kGrpcWebText) {
    return absl::Base64Escape(framed);
  }
  return framed;
}

std::string RpcEndBytes(const RpcWire& wire, const absl::Status& status) {
  if (!wire.grpc_web()) {
    nlohmann::json end = nlohmann::json::object();
    if (!status.ok()) end["error"] = ConnectError(status);
    return Envelope(kConnectEndFlag, end.dump());
  }
  const google::rpc::Status proto = call::StatusToProto(status);
  std::string trailers =
      absl::StrCat("grpc-status:", static_cast<int>(status.code()), "\r\n");
  if (!status.ok()) {
    absl::StrAppend(&trailers, "grpc-message:", PercentEncode(proto.message()),
                    "\r\n");
    if (proto.details_size() > 0) {
      std::string details = absl::Base64Escape(proto.SerializeAsString());
      while (!details.empty() && details.back() == '=') details.pop_back();
      absl::StrAppend(&trailers, "grpc-status-details-bin:", details, "\r\n");
    }
  }
  std::string framed = Envelope(kGrpcWebTrailersFlag, trailers);
  if (wire.protocol == RpcProtocol::kGrpcWebText) {
    return absl::Base64Escape(framed);
  }
  return framed;
}

int ConnectHttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
      return 500;
  }
  return 500;
}

std::string ConnectErrorJson(const absl::Status& status) {
  return ConnectError(status).dump();
}

absl::StatusOr<absl::Duration> RpcTimeout(const RpcWire& wire,
                                          const HttpRequest& request) {
  if (!wire.grpc_web()) {
    const std::optional<absl::string_view> ms =
        request.Header("connect-timeout-ms");
    if (!ms.has_value()) return absl::InfiniteDuration();
    int64_t value = 0;
    if (ms->empty() || ms->size() > 10 || !absl::SimpleAtoi(*ms, &value) ||
        value <= 0) {
      return absl::InvalidArgumentError(
          "connect-timeout-ms: 1 to 10 digits of milliseconds, above 0");
    }
    return absl::Milliseconds(value);
  }
  const std::optional<absl::string_view> timeout =
      request.Header("grpc-timeout");
  if (!timeout.has_value()) return absl::InfiniteDuration();
  int64_t value = 0;
  if (timeout->size() < 2 || timeout->size() > 9 ||
      !absl::SimpleAtoi(timeout->substr(0, timeout->size() - 1), &value) ||
      value <= 0) {
    return absl::InvalidArgumentError(
        "grpc-timeout: 1 to 8 digits and a unit (H, M, S, m, u, n)");
  }
  switch (timeout->back()) {
    case 'H':
      return absl::Hours(value);
    case 'M':
      return absl::Minutes(value);
    case 'S':
      return absl::Seconds(value);
    case 'm':
      return absl::Milliseconds(value);
    case 'u':
      return absl::Microseconds(value);
    case 'n':
      return absl::Nanoseconds(value);
  }
  return absl::InvalidArgumentError(
      "grpc-timeout: the unit is one of H, M, S, m, u, n");
}

absl::Status CheckConnectVersion(const RpcWire& wire,
                                 const HttpRequest& request) {
  if (wire.grpc_web()) return absl::OkStatus();
  const std::optional<absl::string_view> version =
      request.Header("connect-protocol-version");
  if (version.has_value() && *version != "1") {
    return absl::InvalidArgumentError(
        "connect-protocol-version: this server speaks version 1");
  }
  return absl::OkStatus();
}

}  // namespace voxgate::http
