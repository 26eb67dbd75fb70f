#ifndef VOXGATE_HTTP_HTTP_SERVER_H_
#define VOXGATE_HTTP_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "http/http_types.h"
#include "http/tls_context.h"

namespace voxgate::http {

struct HttpServerOptions {
  std::string listen;  // "host:port"; port 0 picks one
  // The config key `listen` comes from, for errors.
  std::string listen_key = "server.http_listen";
  // Set: every connection is TLS, with the source's current context (it
  // must outlive the server). Client certificates are asked for as the
  // source's WithClientAuth() context says, unless tls_client_auth is false.
  const TlsContextSource* tls = nullptr;
  bool tls_client_auth = true;
  int threads = 2;
  std::size_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 32 << 20;
  // Request bodies being read or handled at once, across connections, at
  // most (each counts its Content-Length, or max_body_bytes when chunked,
  // until its answer is written); beyond it 503 with Retry-After.
  std::uint64_t max_body_bytes_in_flight = 256 << 20;
  // Connections open at once (WebSockets included): at the cap the server
  // stops accepting until one closes, so newcomers wait in the listen queue.
  // On EMFILE it pauses 100 ms instead of spinning. From one peer address at
  // most max_connections_per_peer (0: no limit); more are closed unanswered.
  int max_connections = 10000;
  int max_connections_per_peer = 0;
  // The head of a request must arrive within header_timeout of its first
  // byte, its body within body_timeout; a keep-alive connection with no
  // request for idle_timeout is closed. A response must be taken within
  // body_timeout too.
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(60);
  absl::Duration idle_timeout = absl::Seconds(60);
  std::size_t max_websocket_message_bytes = 1 << 20;
  // The body of the errors the server itself answers (400 malformed, 408,
  // 413, 431), from the status and a message naming the limit.
  std::function<HttpResponse(int status, const std::string& message)>
      error_response;
};

// An HTTP/1.1 server on Boost.Beast, plain or over TLS: keep-alive, pipelined
// requests answered in order, bounded heads and bodies (431 and 413 before the
// body is read), `Expect: 100-continue`, timeouts for slow clients, chunked
// streamed responses, and WebSocket upgrades. Complete requests go to the
// handler on an I/O thread; the handler must not block.
class HttpServer {
 public:
  // UNAVAILABLE naming server.http_listen when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, HttpHandler& handler);
  // Closes every connection and stops the I/O threads. Whatever handlers
  // still hold must have ended first (see HttpFrontDoor::Stop).
  ~HttpServer();

  int port() const;
  // Refuses new connections; open ones go on.
  void StopAccepting();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_HTTP_SERVER_H_
