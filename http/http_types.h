#ifndef VOXGATE_HTTP_HTTP_TYPES_H_
#define VOXGATE_HTTP_HTTP_TYPES_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace voxgate::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A request as the HTTP server parsed it (no library types: handlers do not
// see Beast).
struct HttpRequest {
  std::string method;  // "POST"
  std::string path;    // "/v1/chat/completions", without the query
  std::string query;   // after '?', undecoded
  Headers headers;     // names in lower case, in arrival order
  std::string body;
  std::string peer;  // "ipv4:127.0.0.1:5555", as gRPC spells peers
  // Over TLS with client certificates: the verified certificate's identity
  // (VerifiedPeerIdentity); "" otherwise.
  std::string identity;

  // The first value of header `name` (lower case), or nullopt.
  std::optional<absl::string_view> Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;
  std::string body;
};

// One request and its answer: a whole response, or a streamed one (Server-
// Sent Events). Thread-safe: handlers answer from any thread.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual const HttpRequest& request() const = 0;
  HttpRequest& mutable_request() { return const_cast<HttpRequest&>(request()); }

  // Sends the whole response. Call once, instead of streaming.
  virtual void Respond(HttpResponse response) = 0;

  // Starts a streamed (chunked) response with `status` and `headers`.
  virtual void StartStream(int status, std::string content_type,
                           Headers headers) = 0;
  // Writes one piece of a streamed response; `written` runs once it is on
  // the wire (true) or the client went away (false). One write at a time.
  virtual void Write(std::string data, std::function<void(bool)> written) = 0;
  // Ends the streamed response.
  virtual void EndStream() = 0;

  // `closed` runs (once, on an I/O thread) if the client closes the
  // connection before the answer is complete.
  virtual void OnClientClosed(std::function<void()> closed) = 0;

  // After an exception escaped handler code for this exchange: answers 500,
  // or closes the connection when part of an answer is already out.
  virtual void Abort() = 0;
};

// A WebSocket message.
struct WebSocketMessage {
  bool text = false;
  std::string data;
};

// One accepted WebSocket. Thread-safe.
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  virtual const HttpRequest& request() const = 0;
  // Reads the next message: `on_message` runs once with it, or with the
  // error that ended reading (CANCELLED when the client closed, RESOURCE_
  // EXHAUSTED when a message is over the limit). One read at a time: the
  // socket is not read meanwhile, so a slow consumer slows its client.
  virtual void Read(
      std::function<void(absl::StatusOr<WebSocketMessage>)> on_message) = 0;
  // Sends a text message; `sent` runs once it is on the wire (true) or the
  // connection failed (false). Messages go out in the order sent.
  virtual void Send(std::string text, std::function<void(bool)> sent) = 0;
  // Sends a close frame with `code` and `reason` (after the messages sent
  // before it) and ends the connection.
  virtual void Close(int code, std::string reason) = 0;
};

// What the HTTP server hands complete requests and WebSockets to.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // The head of a request that has a body, before the body is read (work
  // before trust is bounded: an unknown caller's 32 MiB are never read or
  // parsed). A response refuses the request: it is sent, and the connection
  // closes without the body being kept. `head.body` is empty.
  virtual std::optional<HttpResponse> CheckHead(const HttpRequest& head) = 0;
  virtual void Handle(std::shared_ptr<HttpExchange> exchange) = 0;
  // Whether an upgrade request for `path` may become a WebSocket.
  virtual bool AcceptsWebSocket(absl::string_view path) const = 0;
  virtual void HandleWebSocket(
      std::shared_ptr<WebSocketConnection> connection) = 0;
  // An exception escaped handler code run on an I/O thread for `route`
  // ("POST /v1/chat/completions"); the server has answered 500 (or closed
  // the connection, or the WebSocket with 1011) and goes on. Log and count
  // it; `what` may hold caller bytes. Must not throw.
  virtual void OnEscapedException(absl::string_view route,
                                  absl::string_view what) = 0;
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_HTTP_TYPES_H_
