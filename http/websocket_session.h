#ifndef VOXGATE_HTTP_WEBSOCKET_SESSION_H_
#define VOXGATE_HTTP_WEBSOCKET_SESSION_H_

// Internal to the HTTP server (listed in its srcs, not its hdrs): Beast types
// stay inside the target that wraps Beast.

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "http/http_server.h"
#include "http/http_types.h"
#include "http/server_limits.h"

namespace voxgate::http::internal {

// The two kinds of connection.
using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<PlainStream>;

// The connections a server has open (before any WebSocket upgrade), so that
// stopping it closes them and lets their pending operations end on the I/O
// threads; handlers cut off by io_context::stop would keep their sessions
// (and TLS state) alive past the server. Thread-safe.
class SessionRegistry {
 public:
  using Key = const void*;
  void Add(Key key, std::function<void()> close) {
    absl::MutexLock lock(&mu_);
    sessions_[key] = std::move(close);
  }
  void Remove(Key key) {
    absl::MutexLock lock(&mu_);
    sessions_.erase(key);
  }
  // Asks every open session to close, then waits until they are gone or
  // the deadline passes.
  bool CloseAllAndAwait(absl::Time deadline) {
    std::vector<std::function<void()>> closers;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [key, close] : sessions_) closers.push_back(close);
    }
    // Outside the lock: the last reference a closer drops removes itself.
    for (const auto& close : closers) close();
    absl::MutexLock lock(&mu_);
    const auto none = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return sessions_.empty();
    };
    return mu_.AwaitWithDeadline(absl::Condition(&none), deadline);
  }

 private:
  absl::Mutex mu_;
  std::map<Key, std::function<void()>> sessions_ ABSL_GUARDED_BY(mu_);
};

// Everything sessions share; outlives them (the server joins its threads
// only after every session is gone or closed).
struct Shared {
  HttpServerOptions options;
  HttpHandler& handler;
  SessionRegistry& sessions;
  ByteBudget& body_budget;
  ConnectionGate& connections;
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
                   HttpRequest request, const Shared& shared,
                   ConnectionGate::Slot slot)
      : slot_(std::move(slot)),
        context_(std::move(context)),
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
  // "WebSocket /v1/stream/transcribe", for reports of escaped exceptions.
  std::string Route() const;
  // After an exception escaped handler code: close with 1011.
  void CloseAfterEscape();

  // For the callbacks (a dependent base's member).
  std::shared_ptr<WebSocketSession> Self() { return this->shared_from_this(); }

  const ConnectionGate::Slot slot_;  // the connection's, taken over
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
