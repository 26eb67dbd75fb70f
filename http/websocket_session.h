#ifndef VOXGATE_HTTP_WEBSOCKET_SESSION_H_
#define VOXGATE_HTTP_WEBSOCKET_SESSION_H_

// Internal to the HTTP server (listed in its srcs, not its hdrs): Beast types
// stay inside the target that wraps Beast.

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "http/http_server.h"
#include "http/http_types.h"

namespace voxgate::http::internal {

// The two kinds of connection.
using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<PlainStream>;

// Everything sessions share; outlives them (the server joins its threads
// only after every session is gone or closed).
struct Shared {
  HttpServerOptions options;
  HttpHandler& handler;
};

// One upgraded connection: the WebSocketConnection handlers see. All socket
// work runs on the connection's strand; the public methods post to it.
// Stream: PlainStream or TlsStream (instantiated for both).
template <class Stream>
class WebSocketSession final
    : public WebSocketConnection,
      public std::enable_shared_from_this<WebSocketSession<Stream>> {
 public:
  // `context`: the TLS connection's own (null for plain ones), kept as long
  // as the connection.
  WebSocketSession(Stream stream,
                   std::shared_ptr<boost::asio::ssl::context> context,
                   HttpRequest request, const Shared& shared)
      : context_(std::move(context)),
        ws_(std::move(stream)),
        request_(std::move(request)),
        shared_(shared) {}

  // Completes the upgrade, then hands the connection to the handler.
  void Accept(
      boost::beast::http::request<boost::beast::http::string_body> upgrade);

  const HttpRequest& request() const override { return request_; }
  void Read(std::function<void(absl::StatusOr<WebSocketMessage>)> on_message)
      override;
  void Send(std::string text, std::function<void(bool)> sent) override;
  void Close(int code, std::string reason) override;

 private:
  struct Outgoing {
    std::string data;
    std::function<void(bool)> sent;
    int close_code;  // nonzero: a close frame with `data` as its reason
  };

  // Starts the next write or close, one at a time.
  void Pump();

  // For the callbacks (a dependent base's member).
  std::shared_ptr<WebSocketSession> Self() { return this->shared_from_this(); }

  const std::shared_ptr<boost::asio::ssl::context> context_;
  boost::beast::websocket::stream<Stream> ws_;
  boost::beast::flat_buffer read_buffer_;
  const HttpRequest request_;
  const Shared& shared_;
  std::deque<Outgoing> outbox_;
  bool writing_ = false;
};

}  // namespace voxgate::http::internal

#endif  // VOXGATE_HTTP_WEBSOCKET_SESSION_H_
