#include "http/front_door.h"

#include <sys/resource.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_duration.h"
#include "http/browser_guard.h"
#include "http/handler_boundary.h"
#include "http/http_errors.h"
#include "http/static_assets.h"
#include "http/stream_socket.h"
#include "operations/model_catalog.h"

namespace voxgate::http {
namespace {

using call::kChat;
using call::kStreamTranscribe;
using call::kTranscribe;

constexpr char kStreamPath[] = "/v1/stream/transcribe";

HttpServerOptions ServerOptions(const Config& config,
                                const TlsContextSource* tls) {
  const auto& http = config.http();
  HttpServerOptions options;
  options.tls = tls;
  options.listen = config.server().http_listen();
  options.threads = http.threads();
  options.max_header_bytes = static_cast<std::size_t>(http.max_header_bytes());
  options.max_body_bytes =
      static_cast<std::uint64_t>(config.server().max_receive_message_bytes());
  options.header_timeout = ToAbsl(http.header_timeout());
  options.body_timeout = ToAbsl(http.body_timeout());
  options.idle_timeout = ToAbsl(http.idle_timeout());
  options.max_websocket_message_bytes =
      static_cast<std::size_t>(http.max_websocket_message_bytes());
  options.max_body_bytes_in_flight =
      static_cast<std::uint64_t>(http.max_body_bytes_in_flight());
  // The last 128 descriptors stay for the admin port, upstreams and files:
  // a full front door must not starve the probes.
  options.max_connections = http.max_connections();
  if (rlimit files; getrlimit(RLIMIT_NOFILE, &files) == 0 &&
                    files.rlim_cur != RLIM_INFINITY) {
    const int64_t room = static_cast<int64_t>(files.rlim_cur) - 128;
    options.max_connections = static_cast<int>(std::max<int64_t>(
        16, std::min<int64_t>(options.max_connections, room)));
  }
  options.max_connections_per_peer = http.max_connections_per_peer();
  options.error_response = [](int status, const std::string& message) {
    return ErrorResponse(status, message);
  };
  return options;
}

}  // namespace

void HttpFrontDoor::OnEscapedException(absl::string_view route,
                                       absl::string_view what) {
  // The label is one of our routes, never caller text (a path is unbounded).
  std::string label = "other";
  for (const Route& known : Routes()) {
    const std::string name = absl::StrCat(known.method, " ", known.path);
    if (route == name || route == absl::StrCat("WebSocket ", known.path)) {
      label = name;
    }
  }
  if (route == "streamed response") label = std::string(route);
  streams_.metrics.ExceptionEscaped(label);
  streams_.logger.Error(
      "an exception escaped request handling; answered 500 or closed",
      {{"route", label}, {"what", std::string(what.substr(0, 200))}});
}

const std::vector<HttpFrontDoor::Route>& HttpFrontDoor::Routes() {
  static const auto* const kRoutes = [] {
    auto* routes = new std::vector<Route>{
        {"POST", "/v1/chat/completions"},
        {"POST", "/v1/audio/transcriptions"},
        {"POST", "/v1/audio/translations"},
        {"GET", "/v1/models"},
        {"GET", kStreamPath},
        {"GET", "/openapi.json"},
        {"GET", "/"},
    };
    // Every RPC, from the registry: POST, and GET for the methods that only
    // read (rpc_routes.cc).
    for (const call::Method* method : call::AllMethods()) {
      const std::string path =
          absl::StrCat("/", method->service, "/", method->name);
      routes->push_back({"POST", path});
      const operations::UnaryMethod* unary =
          operations::FindUnaryMethod(*method);
      if (unary != nullptr && unary->side_effect_free) {
        routes->push_back({"GET", path});
      }
    }
    return routes;
  }();
  return *kRoutes;
}

absl::StatusOr<std::unique_ptr<HttpFrontDoor>> HttpFrontDoor::Start(
    const Config& config, const call::CallServices& unary,
    const call::CallServices& streams,
    const operations::OperationServices& operations,
    const TlsContextSource* tls, const operations::UnaryServices* methods) {
  std::unique_ptr<HttpFrontDoor> door(
      new HttpFrontDoor(config, unary, streams, operations, methods));
  auto server = HttpServer::Start(ServerOptions(config, tls), *door);
  if (!server.ok()) return server.status();
  door->server_ = *std::move(server);
  return door;
}

HttpFrontDoor::HttpFrontDoor(const Config& config,
                             const call::CallServices& unary,
                             const call::CallServices& streams,
                             const operations::OperationServices& operations,
                             const operations::UnaryServices* methods)
    : config_(config),
      unary_(unary),
      streams_(streams),
      operations_(operations),
      methods_(methods),
      catalog_(operations::BuildModelCatalog(config)),
      allowed_hosts_(config.http().allowed_hosts().begin(),
                     config.http().allowed_hosts().end()) {}

HttpFrontDoor::~HttpFrontDoor() { Stop(absl::Now()); }

void HttpFrontDoor::Stop(absl::Time deadline) {
  if (stopped_) return;
  stopped_ = true;
  // Null when Start failed (its port taken): the door is destroyed unstarted.
  if (server_ == nullptr) return;
  server_->StopAccepting();
  if (!live_.AwaitNone(deadline)) {
    live_.CancelAll();
    // Cancelled work ends promptly; this bounds a stuck one.
    live_.AwaitNone(absl::Now() + absl::Seconds(10));
  }
  server_.reset();
}

bool HttpFrontDoor::OriginAllowed(const HttpRequest& request) const {
  const std::optional<absl::string_view> origin = request.Header("origin");
  if (!origin.has_value()) return true;  // not a browser's cross-origin call
  for (const std::string& allowed : config_.http().cors_allowed_origins()) {
    if (allowed == "*" || allowed == *origin) return true;
  }
  // The page the gateway serves itself.
  const std::optional<absl::string_view> host = request.Header("host");
  return host.has_value() && (*origin == absl::StrCat("http://", *host) ||
                              *origin == absl::StrCat("https://", *host));
}

Headers HttpFrontDoor::CorsHeaders(const HttpRequest& request) const {
  const std::optional<absl::string_view> origin = request.Header("origin");
  if (!origin.has_value() || !OriginAllowed(request)) return {};
  return {{"access-control-allow-origin", std::string(*origin)},
          {"vary", "Origin"},
          {"access-control-expose-headers",
           "x-request-id, voxgate-queue-ms, voxgate-preprocess-ms, "
           "voxgate-upstream-ms, voxgate-total-ms, voxgate-overhead-ms, "
           "retry-after, grpc-status, grpc-message, grpc-status-details-bin"}};
}

void HttpFrontDoor::Send(HttpExchange& exchange, HttpResponse response) const {
  for (auto& header : CorsHeaders(exchange.request())) {
    response.headers.push_back(std::move(header));
  }
  exchange.Respond(std::move(response));
}

void HttpFrontDoor::Fail(HttpExchange& exchange, HttpCall& call,
                         const absl::Status& status) const {
  HttpResponse response = ErrorResponse(call.End(status));
  for (auto& header : call.ResponseHeaders()) {
    response.headers.push_back(std::move(header));
  }
  Send(exchange, std::move(response));
}

std::optional<HttpResponse> HttpFrontDoor::RefuseFromBrowser(
    const HttpRequest& request) const {
  if (!unary_.admission.has_checks()) {
    const absl::Status host =
        CheckHost(request.Header("host").value_or(""), allowed_hosts_);
    if (!host.ok()) return ErrorResponse(host);
  }
  if (request.method != "POST") return std::nullopt;
  if (request.Header("origin").has_value() && !OriginAllowed(request)) {
    return ErrorResponse(absl::PermissionDeniedError(
        "this Origin may not call the gateway; add it to "
        "http.cors_allowed_origins"));
  }
  if (request.path == "/v1/chat/completions" &&
      !IsJsonContentType(request.Header("content-type").value_or(""))) {
    return ErrorResponse(
        415, "the body must be sent as content-type: application/json");
  }
  return std::nullopt;
}

std::optional<HttpResponse> HttpFrontDoor::CheckHead(const HttpRequest& head) {
  if (std::optional<HttpResponse> refused = RefuseFromBrowser(head)) {
    return refused;
  }
  const call::Method* method = nullptr;
  if (head.method == "POST" && head.path == "/v1/chat/completions") {
    method = &kChat;  // or ChatStream: the body says, and is not read yet
  } else if (head.method == "POST" &&
             (head.path == "/v1/audio/transcriptions" ||
              head.path == "/v1/audio/translations")) {
    method = &kTranscribe;
  } else if (head.method == "POST") {
    method = RpcMethodOf(head.path);
  }
  // Other routes with a body end at 404 or 405 without parsing it.
  if (method == nullptr) return std::nullopt;
  const absl::Status who =
      unary_.admission.Authenticate(HeaderMetadata(head), head.identity);
  if (who.ok()) return std::nullopt;
  // Refused as a call, so it is logged and counted as admission's refusals
  // are.
  HttpCall call(head, *method, unary_, live_);
  HttpResponse response = ErrorResponse(call.End(who));
  for (auto& header : call.ResponseHeaders()) {
    response.headers.push_back(std::move(header));
  }
  for (auto& header : CorsHeaders(head)) {
    response.headers.push_back(std::move(header));
  }
  return response;
}

void HttpFrontDoor::Handle(std::shared_ptr<HttpExchange> exchange) {
  const HttpRequest& request = exchange->request();
  // (Requests with a body were checked from their head already.)
  if (std::optional<HttpResponse> refused = RefuseFromBrowser(request)) {
    return Send(*exchange, *std::move(refused));
  }
  if (request.method == "OPTIONS") {
    HttpResponse preflight;
    preflight.status = 204;
    preflight.content_type = "text/plain";
    if (OriginAllowed(request)) {
      preflight.headers = {
          {"access-control-allow-methods", "GET, POST, OPTIONS"},
          {"access-control-allow-headers",
           "authorization, content-type, x-api-key, x-request-id, "
           "openai-organization, openai-project, x-stainless-lang, "
           "connect-protocol-version, connect-timeout-ms, grpc-timeout, "
           "x-grpc-web, x-user-agent"},
          {"access-control-max-age", "600"}};
      if (auto asked = request.Header("access-control-request-headers")) {
        preflight.headers[1].second = std::string(*asked);
      }
    }
    return Send(*exchange, std::move(preflight));
  }
  const std::string& path = request.path;
  const bool post = request.method == "POST";
  const bool get = request.method == "GET";
  if (post && path == "/v1/chat/completions") return HandleChat(exchange);
  if (post && path == "/v1/audio/transcriptions") {
    return HandleTranscription(exchange, false);
  }
  if (post && path == "/v1/audio/translations") {
    return HandleTranscription(exchange, true);
  }
  if (get && path == "/v1/models") return HandleModels(exchange);
  if (post || get) {
    if (const call::Method* method = RpcMethodOf(path)) {
      return HandleRpc(exchange, *method);
    }
  }
  if (get) {
    for (const StaticAsset& asset : StaticAssets()) {
      if (path == asset.path ||
          (path == "/" && asset.path == std::string("/index.html"))) {
        HttpResponse response;
        response.content_type = asset.content_type;
        response.body = std::string(asset.body);
        response.headers.emplace_back("cache-control", "no-cache");
        return Send(*exchange, std::move(response));
      }
    }
  }
  for (const Route& route : Routes()) {
    if (path == route.path) {
      HttpResponse response =
          ErrorResponse(405, absl::StrCat(request.method, " is not allowed on ",
                                          path, "; use ", route.method));
      response.headers.emplace_back("allow", route.method);
      return Send(*exchange, std::move(response));
    }
  }
  Send(*exchange, ErrorResponse(404, absl::StrCat("no route for ", path)));
}

bool HttpFrontDoor::AcceptsWebSocket(absl::string_view path) const {
  return path == kStreamPath;
}

void HttpFrontDoor::HandleWebSocket(
    std::shared_ptr<WebSocketConnection> connection) {
  auto call = std::make_shared<HttpCall>(connection->request(),
                                         kStreamTranscribe, streams_, live_);
  if (!unary_.admission.has_checks()) {
    const absl::Status host = CheckHost(
        connection->request().Header("host").value_or(""), allowed_hosts_);
    if (!host.ok()) {
      const absl::Status shown = call->End(host);
      return connection->Close(1008, std::string(shown.message()));
    }
  }
  if (!OriginAllowed(connection->request())) {
    const absl::Status shown = call->End(absl::PermissionDeniedError(
        "this Origin may not open the stream; add it to "
        "http.cors_allowed_origins"));
    return connection->Close(1008, std::string(shown.message()));
  }
  auto socket = std::make_shared<StreamSocket>(connection, call, operations_,
                                               streams_.metrics);
  call->Admit(0, [socket](absl::Status admitted) { socket->Begin(admitted); });
}

}  // namespace voxgate::http
