#include "http/front_door.h"

#include <sys/resource.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/json_limits.h"
#include "common/proto_duration.h"
#include "http/browser_guard.h"
#include "http/chat_sse.h"
#include "http/handler_boundary.h"
#include "http/http_errors.h"
#include "http/multipart.h"
#include "http/openai_json.h"
#include "http/openai_transcription_form.h"
#include "http/static_assets.h"
#include "http/stream_socket.h"
#include "operations/chat_operation.h"
#include "operations/model_catalog.h"
#include "operations/transcribe_operation.h"

namespace voxgate::http {
namespace {

using call::kChat;
using call::kChatStream;
using call::kListModels;
using call::kStreamTranscribe;
using call::kTranscribe;

constexpr char kStreamPath[] = "/v1/stream/transcribe";

// What the unary chat keeps alive while it runs.
struct ChatState {
  std::shared_ptr<HttpCall> call;
  v1::ChatRequest request;
  std::optional<operations::ChatOperation> operation;
};

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

std::string RouteOf(const HttpRequest& request) {
  return absl::StrCat(request.method, " ", request.path);
}

}  // namespace

template <class Answer>
auto HttpFrontDoor::Guarded(std::shared_ptr<HttpExchange> exchange,
                            std::shared_ptr<HttpCall> call, Answer answer) {
  return [this, exchange = std::move(exchange), call = std::move(call),
          answer = std::move(answer)](auto&&... args) mutable {
    internal::RunHandlerCode(
        *this, RouteOf(exchange->request()),
        [&] { answer(std::forward<decltype(args)>(args)...); },
        [&] {
          (void)call->End(
              absl::InternalError("the gateway failed on this request"));
          exchange->Abort();
        });
  };
}

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
  static const auto* const kRoutes = new std::vector<Route>{
      {"POST", "/v1/chat/completions"},
      {"POST", "/v1/audio/transcriptions"},
      {"POST", "/v1/audio/translations"},
      {"GET", "/v1/models"},
      {"GET", kStreamPath},
      {"GET", "/openapi.json"},
      {"GET", "/"},
  };
  return *kRoutes;
}

absl::StatusOr<std::unique_ptr<HttpFrontDoor>> HttpFrontDoor::Start(
    const Config& config, const call::CallServices& unary,
    const call::CallServices& streams,
    const operations::OperationServices& operations,
    const TlsContextSource* tls) {
  std::unique_ptr<HttpFrontDoor> door(
      new HttpFrontDoor(config, unary, streams, operations));
  auto server = HttpServer::Start(ServerOptions(config, tls), *door);
  if (!server.ok()) return server.status();
  door->server_ = *std::move(server);
  return door;
}

HttpFrontDoor::HttpFrontDoor(const Config& config,
                             const call::CallServices& unary,
                             const call::CallServices& streams,
                             const operations::OperationServices& operations)
    : config_(config),
      unary_(unary),
      streams_(streams),
      operations_(operations),
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
           "retry-after"}};
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
           "openai-organization, openai-project, x-stainless-lang"},
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

void HttpFrontDoor::HandleChat(const std::shared_ptr<HttpExchange>& exchange) {
  absl::StatusOr<OpenAiChatRequest> parsed =
      ChatRequestFromJson(exchange->request().body);
  const bool stream =
      parsed.ok() ? parsed->stream : AsksForStream(exchange->request().body);
  auto call = std::make_shared<HttpCall>(exchange->request(),
                                         stream ? kChatStream : kChat,
                                         stream ? streams_ : unary_, live_);
  if (!parsed.ok()) return Fail(*exchange, *call, parsed.status());
  exchange->OnClientClosed([weak = std::weak_ptr<HttpCall>(call)] {
    if (auto alive = weak.lock()) alive->Cancel();
  });
  const int64_t bytes = static_cast<int64_t>(exchange->request().body.size());
  if (stream) {
    auto sse = std::make_shared<ChatSse>(exchange, call, parsed->include_usage,
                                         operations_);
    auto request = std::make_shared<v1::ChatRequest>(std::move(parsed->chat));
    return call->Admit(
        bytes,
        Guarded(exchange, call,
                [sse, request, exchange, call](absl::Status admitted) {
                  if (!admitted.ok()) return sse->Refuse(admitted);
                  sse->Start(*request);
                }),
        request->model());
  }
  auto state = std::make_shared<ChatState>();
  state->call = call;
  state->request = std::move(parsed->chat);
  call->Admit(
      bytes,
      Guarded(exchange, call,
              [this, state, exchange](absl::Status admitted) {
                if (!admitted.ok())
                  return Fail(*exchange, *state->call, admitted);
                state->operation.emplace(operations_, state->call->scope());
                state->operation->Start(
                    state->request,
                    Guarded(exchange, state->call,
                            [this, state, exchange](
                                absl::StatusOr<v1::ChatResponse> answer) {
                              const absl::Status ended =
                                  state->call->End(answer.status());
                              if (!answer.ok()) {
                                return Fail(*exchange, *state->call, ended);
                              }
                              HttpResponse response;
                              response.body = DumpJson(ChatCompletionJson(
                                  *answer, absl::ToUnixSeconds(absl::Now())));
                              response.headers = state->call->ResponseHeaders();
                              Send(*exchange, std::move(response));
                            }));
              }),
      state->request.model());
}

void HttpFrontDoor::HandleTranscription(
    const std::shared_ptr<HttpExchange>& exchange, bool translate) {
  HttpRequest& request = exchange->mutable_request();
  auto call = std::make_shared<HttpCall>(request, kTranscribe, unary_, live_);
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseFormData(request.Header("content-type").value_or(""), request.body);
  if (!parts.ok()) return Fail(*exchange, *call, parts.status());
  absl::StatusOr<TranscriptionForm> fields =
      TranscriptionFormFromParts(*parts, request.body);
  if (!fields.ok()) return Fail(*exchange, *call, fields.status());
  auto form = std::make_shared<TranscriptionForm>(*std::move(fields));
  const FormPart& file = (*parts)[form->file_part];
  absl::StatusOr<v1::RecognitionConfig> recognition =
      RecognitionFromForm(*form, translate);
  if (!recognition.ok()) return Fail(*exchange, *call, recognition.status());
  const int64_t bytes = static_cast<int64_t>(request.body.size());
  auto transcribe = std::make_shared<v1::TranscribeRequest>();
  *transcribe->mutable_config() = *std::move(recognition);
  // The upload's one copy becomes the audio: the other parts are cut away
  // in place.
  KeepOnly(file, request.body);
  transcribe->mutable_audio()->set_content(std::move(request.body));
  exchange->OnClientClosed([weak = std::weak_ptr<HttpCall>(call)] {
    if (auto alive = weak.lock()) alive->Cancel();
  });
  const std::string model = transcribe->config().model();
  call->Admit(
      bytes,
      Guarded(exchange, call,
              [this, call, exchange, form, transcribe,
               translate](absl::Status admitted) {
                if (!admitted.ok()) return Fail(*exchange, *call, admitted);
                operations::StartTranscribe(
                    operations_, std::move(*transcribe), call->scope(),
                    Guarded(
                        exchange, call,
                        [this, call, exchange, form, translate](
                            absl::StatusOr<v1::TranscribeResponse> answer) {
                          const absl::Status ended = call->End(answer.status());
                          if (!answer.ok()) {
                            return Fail(*exchange, *call, ended);
                          }
                          TranscriptionBody body = TranscriptionResponseBody(
                              *answer, *form, translate);
                          HttpResponse response;
                          response.content_type = std::move(body.content_type);
                          response.body = std::move(body.body);
                          response.headers = call->ResponseHeaders();
                          Send(*exchange, std::move(response));
                        }));
              }),
      model);
}

void HttpFrontDoor::HandleModels(
    const std::shared_ptr<HttpExchange>& exchange) {
  auto call = std::make_shared<HttpCall>(exchange->request(), kListModels,
                                         unary_, live_);
  call->Admit(
      0, Guarded(exchange, call, [this, call, exchange](absl::Status admitted) {
        if (!admitted.ok()) {
          return Fail(*exchange, *call, admitted);
        }
        const v1::ListModelsResponse models =
            operations::CurrentModels(catalog_, operations_.routing);
        (void)call->End(absl::OkStatus());
        HttpResponse response;
        response.body = DumpJson(ModelsJson(models));
        response.headers = call->ResponseHeaders();
        Send(*exchange, std::move(response));
      }));
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
