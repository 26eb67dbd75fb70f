#ifndef VOXGATE_HTTP_FRONT_DOOR_H_
#define VOXGATE_HTTP_FRONT_DOOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "call/call.h"
#include "call/call_scope.h"
#include "http/http_call.h"
#include "http/http_server.h"
#include "http/http_types.h"
#include "http/rpc_wire.h"
#include "operations/operation_services.h"
#include "operations/unary_methods.h"
#include "voxgate/v1/models.pb.h"

namespace voxgate::http {

// The HTTP front door (server.http_listen): the OpenAI-compatible API
// (/v1/chat/completions, /v1/audio/transcriptions and translations,
// /v1/models), StreamTranscribe over a WebSocket (/v1/stream/transcribe),
// the captions page at / and /openapi.json. Every call runs the same
// operation, admission, log line and metrics as its gRPC twin (method names
// Chat, ChatStream, Transcribe, ListModels, StreamTranscribe).
class HttpFrontDoor final : public HttpHandler {
 public:
  struct Route {
    std::string method;  // "POST"; "GET" for the WebSocket
    std::string path;
  };
  // Every route served (the OpenAI routes, and every RPC of the method
  // registry over Connect and gRPC-Web), for the OpenAPI test.
  static const std::vector<Route>& Routes();

  // `unary` and `streams` carry each class's default deadline. Everything
  // must outlive the front door.
  static absl::StatusOr<std::unique_ptr<HttpFrontDoor>> Start(
      const Config& config, const call::CallServices& unary,
      const call::CallServices& streams,
      const operations::OperationServices& operations,
      const TlsContextSource* tls = nullptr,
      const operations::UnaryServices* methods = nullptr);
  ~HttpFrontDoor() override;

  int port() const { return server_->port(); }
  // Refuses new connections, lets calls in flight run until `deadline`,
  // cancels the rest and waits for them to end. Idempotent.
  void Stop(absl::Time deadline);

  // Without a known key (or client certificate) the body of a POST is
  // never read: 401 from the head.
  std::optional<HttpResponse> CheckHead(const HttpRequest& head) override;
  void Handle(std::shared_ptr<HttpExchange> exchange) override;
  bool AcceptsWebSocket(absl::string_view path) const override;
  void HandleWebSocket(
      std::shared_ptr<WebSocketConnection> connection) override;
  void OnEscapedException(absl::string_view route,
                          absl::string_view what) override;

 private:
  HttpFrontDoor(const Config& config, const call::CallServices& unary,
                const call::CallServices& streams,
                const operations::OperationServices& operations,
                const operations::UnaryServices* methods);

  void HandleChat(const std::shared_ptr<HttpExchange>& exchange);
  void HandleTranscription(const std::shared_ptr<HttpExchange>& exchange,
                           bool translate);
  void HandleModels(const std::shared_ptr<HttpExchange>& exchange);
  // Connect and gRPC-Web (rpc_routes.cc): POST /<service>/<method>, and
  // Connect GET for the methods that only read.
  void HandleRpc(const std::shared_ptr<HttpExchange>& exchange,
                 const call::Method& method);
  // The registry's method at /<service>/<method>, or null; null too when
  // the door serves no RPCs (no unary methods given).
  const call::Method* RpcMethodOf(absl::string_view path) const;
  // An RPC's answer or error in its wire's form.
  static HttpResponse RpcResponse(const RpcWire& wire, HttpCall& call,
                                  const absl::Status& status,
                                  const google::protobuf::Message* answer);
  // What a page in a visitor's browser may not do: a keyless gateway
  // answers only the Hosts http.allowed_hosts allows (DNS rebinding); a POST
  // from an Origin CORS does not allow is refused; chat takes only
  // application/json (no cross-site "simple" POST).
  std::optional<HttpResponse> RefuseFromBrowser(
      const HttpRequest& request) const;
  // The CORS headers for the request's Origin, when it is allowed.
  Headers CorsHeaders(const HttpRequest& request) const;
  bool OriginAllowed(const HttpRequest& request) const;
  // Answers `response` with the CORS headers added.
  void Send(HttpExchange& exchange, HttpResponse response) const;
  // Ends `call` with `status` and answers the error.
  void Fail(HttpExchange& exchange, HttpCall& call,
            const absl::Status& status) const;
  // `answer` wrapped for another thread (an upstream's or a worker's): an
  // exception escaping it is reported, ends `call` INTERNAL and aborts the
  // exchange instead of ending the process.
  template <class Answer>
  auto Guarded(std::shared_ptr<HttpExchange> exchange,
               std::shared_ptr<HttpCall> call, Answer answer);

  const Config& config_;
  const call::CallServices unary_;
  const call::CallServices streams_;
  const operations::OperationServices operations_;
  const operations::UnaryServices* const methods_;  // null: no RPC routes
  const v1::ListModelsResponse catalog_;
  const std::vector<std::string> allowed_hosts_;
  LiveCalls live_;
  std::unique_ptr<HttpServer> server_;
  bool stopped_ = false;
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_FRONT_DOOR_H_
