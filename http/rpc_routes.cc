// Every RPC of the method registry over plain HTTP: Connect and gRPC-Web on
// the HTTP door, POST /<service>/<method> (and Connect GET for the methods
// that only read). Same admission, tenants, limits, deadlines, cancellation,
// log line and metrics as the gRPC door: each is a call::Call running the
// method's work from operations/unary_methods.h.

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "http/front_door.h"
#include "http/front_door_guarded.h"
#include "http/handler_boundary.h"
#include "http/http_errors.h"
#include "http/rpc_chat_stream.h"
#include "http/rpc_wire.h"
#include "operations/unary_methods.h"

namespace voxgate::http {
namespace {

// What a unary RPC keeps alive while it runs.
struct UnaryRpc {
  std::shared_ptr<HttpCall> call;
  std::unique_ptr<operations::UnaryWork> work;
  RpcWire wire;
};

// Why a method is not served over HTTP, for the client streams and bidi
// streams Connect over HTTP/1.1 cannot carry.
absl::Status NotOverHttp(const call::Method& method) {
  return absl::UnimplementedError(absl::StrCat(
      method.name,
      " streams from the client too, which HTTP/1.1 cannot carry: call it over "
      "gRPC (HTTP/2)",
      &method == &call::kStreamTranscribe
          ? ", or over the WebSocket /v1/stream/transcribe"
          : "",
      "; see docs/http.md"));
}

}  // namespace

const call::Method* HttpFrontDoor::RpcMethodOf(absl::string_view path) const {
  if (methods_ == nullptr || !absl::ConsumePrefix(&path, "/")) return nullptr;
  const std::size_t slash = path.find('/');
  if (slash == absl::string_view::npos) return nullptr;
  const call::Method* method = call::FindMethod(path.substr(slash + 1));
  if (method == nullptr || path.substr(0, slash) != method->service) {
    return nullptr;
  }
  return method;
}

HttpResponse HttpFrontDoor::RpcResponse(
    const RpcWire& wire, HttpCall& call, const absl::Status& status,
    const google::protobuf::Message* answer) {
  HttpResponse response;
  response.headers = call.ResponseHeaders();
  response.content_type = wire.content_type;
  if (wire.protocol == RpcProtocol::kConnectUnary) {
    if (status.ok()) {
      response.body = RpcMessageBytes(wire, *answer);
    } else {
      response.status = ConnectHttpStatus(status.code());
      response.content_type = "application/json";
      response.body = ConnectErrorJson(status);
    }
    return response;
  }
  // Streams and gRPC-Web: 200, the status in the end message.
  if (status.ok() && answer != nullptr) {
    response.body = RpcMessageBytes(wire, *answer);
  }
  response.body += RpcEndBytes(wire, status);
  if (wire.grpc_web() && !status.ok()) {
    // Also as headers, the trailers-only form some gRPC-Web clients read.
    response.headers.emplace_back(
        "grpc-status", absl::StrCat(static_cast<int>(status.code())));
  }
  return response;
}

void HttpFrontDoor::HandleRpc(const std::shared_ptr<HttpExchange>& exchange,
                              const call::Method& method) {
  const HttpRequest& request = exchange->request();
  const operations::UnaryMethod* unary = operations::FindUnaryMethod(method);
  const bool get = request.method == "GET";
  RpcWire wire;
  absl::Status wire_status;
  if (get) {
    wire.content_type = "application/json";
  } else {
    absl::StatusOr<RpcWire> posted =
        RpcWireFor(request.Header("content-type").value_or(""));
    if (!posted.ok()) {
      HttpResponse refused =
          ErrorResponse(415, std::string(posted.status().message()));
      return Send(*exchange, std::move(refused));
    }
    wire = *std::move(posted);
  }
  if (get && (unary == nullptr || !unary->side_effect_free)) {
    HttpResponse response = ErrorResponse(
        405, absl::StrCat(method.name,
                          " changes state or streams: POST it (Connect GET "
                          "serves only the methods that read)"));
    response.headers.emplace_back("allow", "POST");
    return Send(*exchange, std::move(response));
  }
  const bool streams_out = method.shape == call::MethodShape::kServerStream;
  const absl::StatusOr<absl::Duration> timeout = RpcTimeout(wire, request);
  const absl::Time deadline =
      timeout.ok() && *timeout != absl::InfiniteDuration()
          ? unary_.clock.Now() + *timeout
          : absl::InfiniteFuture();
  auto call = std::make_shared<HttpCall>(
      request, method,
      streams_out || method.long_lived_stream ? streams_ : unary_, live_,
      deadline);
  auto fail = [&](absl::Status status) {
    const absl::Status shown = call->End(status);
    HttpResponse response = RpcResponse(wire, *call, shown, nullptr);
    Send(*exchange, std::move(response));
  };
  if (!timeout.ok()) return fail(timeout.status());
  if (absl::Status version = CheckConnectVersion(wire, request);
      !version.ok()) {
    return fail(version);
  }
  if (unary == nullptr && !streams_out) return fail(NotOverHttp(method));
  if (streams_out && wire.protocol == RpcProtocol::kConnectUnary) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("content-type: ", method.name,
                     " streams its answer: send application/connect+json or "
                     "application/connect+proto (or gRPC-Web)")));
  }
  if (!streams_out && wire.protocol == RpcProtocol::kConnectStream) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("content-type: ", method.name,
                     " is unary: send application/json or application/proto")));
  }
  exchange->OnClientClosed([weak = std::weak_ptr<HttpCall>(call)] {
    if (auto alive = weak.lock()) alive->Cancel();
  });
  const int64_t bytes = static_cast<int64_t>(request.body.size());
  if (streams_out) {
    auto chat = std::make_shared<v1::ChatRequest>();
    if (absl::Status parsed = ParseRpcRequest(wire, request.body, *chat);
        !parsed.ok()) {
      return fail(parsed);
    }
    auto stream = std::make_shared<RpcChatStream>(
        exchange, call, wire, CorsHeaders(request), operations_);
    return call->Admit(bytes,
                       Guarded(exchange, call,
                               [stream, chat](absl::Status admitted) {
                                 if (!admitted.ok())
                                   return stream->Refuse(admitted);
                                 stream->Start(*chat);
                               }),
                       chat->model());
  }
  auto rpc = std::make_shared<UnaryRpc>();
  rpc->call = call;
  rpc->work = unary->make(*methods_);
  rpc->wire = wire;
  absl::Status parsed =
      get ? ParseConnectGet(request.query, rpc->wire, rpc->work->request())
          : ParseRpcRequest(wire, request.body, rpc->work->request());
  if (!parsed.ok()) {
    wire = rpc->wire;
    return fail(parsed);
  }
  const std::optional<absl::string_view> model = rpc->work->requested_model();
  call->Admit(
      bytes,
      Guarded(exchange, call,
              [this, rpc, exchange](absl::Status admitted) {
                auto answer = [this, rpc, exchange](absl::Status status) {
                  const absl::Status shown = rpc->call->End(status);
                  Send(*exchange,
                       RpcResponse(
                           rpc->wire, *rpc->call, shown,
                           shown.ok() ? &rpc->work->response() : nullptr));
                };
                if (!admitted.ok()) return answer(admitted);
                rpc->work->Start(rpc->call->scope(),
                                 Guarded(exchange, rpc->call, answer));
              }),
      model.has_value() ? std::optional<absl::string_view>(*model)
                        : std::nullopt);
}

}  // namespace voxgate::http
