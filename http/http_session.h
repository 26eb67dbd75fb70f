#ifndef VOXGATE_HTTP_HTTP_SESSION_H_
#define VOXGATE_HTTP_HTTP_SESSION_H_

// One HTTP connection of HttpServer, plain or over TLS: its requests read in
// turn (the head checked before the body is read), its answers written in
// order, its WebSocket upgrade, and the last-resort boundary around handler
// code. Internal to the server (http_server.cc is its one user).

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "http/handler_boundary.h"
#include "http/http_types.h"
#include "http/server_limits.h"
#include "http/tls_context.h"
#include "http/websocket_session.h"

namespace voxgate::http::internal {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
namespace ssl = boost::asio::ssl;

inline absl::string_view View(beast::string_view text) {
  return absl::string_view(text.data(), text.size());
}

inline std::chrono::steady_clock::duration Chrono(absl::Duration duration) {
  return absl::ToChronoNanoseconds(duration);
}

inline std::string PeerOf(const tcp::socket& socket) {
  beast::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  const net::ip::address address = peer.address();
  return absl::StrCat(
      address.is_v4() ? "ipv4:" : "ipv6:",
      address.is_v4() ? address.to_string() : "[" + address.to_string() + "]",
      ":", peer.port());
}

inline HttpRequest ToRequest(bhttp::request<bhttp::string_body> beast_request,
                      std::string peer, std::string identity) {
  HttpRequest request;
  request.method = std::string(beast_request.method_string());
  const absl::string_view target = View(beast_request.target());
  const std::size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != absl::string_view::npos) {
    request.query = std::string(target.substr(question + 1));
  }
  for (const auto& field : beast_request) {
    request.headers.emplace_back(
        absl::AsciiStrToLower(View(field.name_string())),
        std::string(View(field.value())));
  }
  request.body = std::move(beast_request.body());
  request.peer = std::move(peer);
  request.identity = std::move(identity);
  return request;
}

inline PlainStream MakeStream(tcp::socket socket, PlainStream*, ssl::context*) {
  return PlainStream(std::move(socket));
}
inline TlsStream MakeStream(tcp::socket socket, TlsStream*, ssl::context* context) {
  return TlsStream(PlainStream(std::move(socket)), *context);
}

// One connection, plain (PlainStream) or over TLS (TlsStream): requests
// read in turn, answers written in order. All of it runs on the
// connection's strand.
template <class Stream>
class Session final : public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `context` is null for plain connections; a TLS connection keeps its own
  // so a rotated certificate leaves it alone.
  Session(tcp::socket socket, std::shared_ptr<ssl::context> context,
          const Shared& shared, internal::ConnectionGate::Slot slot)
      : slot_(std::move(slot)),
        context_(std::move(context)),
        stream_(MakeStream(std::move(socket), static_cast<Stream*>(nullptr),
                           context_.get())),
        shared_(shared) {}
  ~Session() {
    ReleaseBody();
    shared_.sessions.Remove(this);
  }

  void Start() {
    shared_.sessions.Add(this, [weak = this->weak_from_this()] {
      if (auto self = weak.lock()) {
        net::post(self->executor(), [self] { self->Close(); });
      }
    });
    peer_ = PeerOf(Socket());
    // Asio's own operations do not care; the close watch's peek must not
    // block an I/O thread.
    beast::error_code ignored;
    Socket().non_blocking(true, ignored);
    // A response goes out in pieces (the head, then SSE events): with Nagle's
    // algorithm each piece after the first waits for the client's delayed
    // ACK, 40 ms on Linux; time to first token through the gateway was 44 ms
    // against 2 ms direct (bench/peers, issue 19).
    Socket().set_option(tcp::no_delay(true), ignored);
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        self->Handshake();
      } else {
        self->AwaitRequest();
      }
    });
  }

  // Called on the strand.
  void Respond(HttpResponse response);
  void StartStream(int status, std::string content_type, Headers headers);
  void Write(std::string data, std::function<void(bool)> written);
  void EndStream();
  void SetClosedCallback(std::function<void()> closed);

  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  PlainStream& Lowest() { return beast::get_lowest_layer(stream_); }
  tcp::socket& Socket() { return Lowest().socket(); }

  // The TLS handshake, within http.header_timeout; a client that fails it
  // (wrong CA, no certificate when one is required, plaintext, TLS < 1.2)
  // is closed without an answer: it cannot read one.
  void Handshake() {
    Lowest().expires_after(Chrono(shared_.options.header_timeout));
    stream_.async_handshake(
        ssl::stream_base::server,
        [self = this->shared_from_this()](beast::error_code ec) {
          if (ec) return self->Close();
          self->identity_ = VerifiedPeerIdentity(self->stream_.native_handle());
          self->AwaitRequest();
        });
  }

  // Waits for the first byte of the next request (idle timeout), unless
  // pipelined bytes are here already.
  void AwaitRequest() {
    if (buffer_.size() > 0) return ReadHead();
    Lowest().expires_after(Chrono(shared_.options.idle_timeout));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](
                                beast::error_code ec, std::size_t read) {
                              if (ec) return self->Close();
                              self->buffer_.commit(read);
                              self->ReadHead();
                            });
  }

  void ReadHead() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(shared_.options.max_header_bytes));
    parser_->body_limit(shared_.options.max_body_bytes);
    Lowest().expires_after(Chrono(shared_.options.header_timeout));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnHead(ec);
        });
  }

  void OnHead(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return Fail(413, TooLarge());
    if (ec == bhttp::error::header_limit) {
      return Fail(431,
                  absl::StrCat("the request head is over "
                               "http.max_header_bytes (",
                               shared_.options.max_header_bytes, " bytes)"));
    }
    if (ec == beast::error::timeout) {
      return Fail(
          408, absl::StrCat(
                   "the request head did not arrive within "
                   "http.header_timeout (",
                   absl::FormatDuration(shared_.options.header_timeout), ")"));
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec) return Fail(400, "malformed HTTP request: " + ec.message());
    auto& head = parser_->get();
    if (websocket::is_upgrade(head)) {
      const absl::string_view target = View(head.target());
      const absl::string_view path = target.substr(0, target.find('?'));
      if (!shared_.handler.AcceptsWebSocket(path)) {
        return Fail(404, absl::StrCat("no WebSocket at ", path));
      }
      Lowest().expires_never();
      bhttp::request<bhttp::string_body> upgrade = parser_->release();
      HttpRequest request = ToRequest(upgrade, peer_, identity_);
      auto ws = std::make_shared<WebSocketSession<Stream>>(
          std::move(stream_), context_, std::move(request), shared_,
          std::move(slot_));
      ws->Accept(std::move(upgrade));
      return;
    }
    if (parser_->content_length().has_value() &&
        *parser_->content_length() > shared_.options.max_body_bytes) {
      return Fail(413, TooLarge());
    }
    const bool has_body = parser_->chunked() ||
                          parser_->content_length().value_or(0) > 0;
    if (has_body) {
      // Who is asking, before the body is read.
      std::optional<HttpResponse> refusal;
      HttpRequest just_head = ToRequest(
          bhttp::request<bhttp::string_body>(head), peer_, identity_);
      internal::RunHandlerCode(
          shared_.handler,
          absl::StrCat(just_head.method, " ", just_head.path),
          [&] { refusal = shared_.handler.CheckHead(just_head); },
          [&] {
            refusal = shared_.options.error_response(
                500, "the gateway failed on this request; it was logged");
          });
      if (refusal.has_value()) return Refuse(*std::move(refusal));
      // Bodies being read and handled, across connections, are bounded.
      const auto bytes = static_cast<int64_t>(
          parser_->content_length().value_or(shared_.options.max_body_bytes));
      if (!shared_.body_budget.TryTake(bytes)) {
        HttpResponse busy = shared_.options.error_response(
            503, absl::StrCat("the gateway holds http.max_body_bytes_in_"
                              "flight (",
                              shared_.body_budget.limit(),
                              " bytes) of request bodies; retry shortly"));
        busy.headers.emplace_back("retry-after", "1");
        return Refuse(std::move(busy));
      }
      reserved_body_bytes_ = bytes;
    }
    if (absl::EqualsIgnoreCase(View(head[bhttp::field::expect]),
                               "100-continue")) {
      auto interim = std::make_shared<bhttp::response<bhttp::empty_body>>(
          bhttp::status::continue_, head.version());
      bhttp::async_write(stream_, *interim,
                         [self = this->shared_from_this(), interim](
                             beast::error_code ec, std::size_t) {
                           if (ec) return self->Close();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    Lowest().expires_after(Chrono(shared_.options.body_timeout));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnRequest(ec);
        });
  }

  std::string TooLarge() const {
    return absl::StrCat(
        "the request body is over "
        "server.max_receive_message_bytes (",
        shared_.options.max_body_bytes, " bytes)");
  }

  void OnRequest(beast::error_code ec);
  void ReleaseBody() {
    shared_.body_budget.Give(std::exchange(reserved_body_bytes_, 0));
  }
  // After an exception escaped the handler of exchange `number`: answers
  // 500, or closes when part of an answer is out. Nothing when that exchange
  // is over.
  void AbortExchange(uint64_t number);

  // While a handler works on a request, learns whether the client hangs up
  // (its calls are then cancelled). Bytes of a pipelined request end the
  // watch: they wait in the socket for their turn.
  void WatchForClose() {
    Socket().async_wait(
        tcp::socket::wait_read,
        [self = this->shared_from_this(),
         number = exchange_number_](beast::error_code ec) {
          if (ec || !self->in_exchange_ || number != self->exchange_number_) {
            return;
          }
          // Readiness can be spurious: peek without blocking (the socket is
          // in non-blocking mode), and watch again when nothing is there.
          char byte;
          beast::error_code peek_error;
          const std::size_t peeked = self->Socket().receive(
              net::buffer(&byte, 1), tcp::socket::message_peek, peek_error);
          if (peek_error == net::error::would_block) {
            return self->WatchForClose();
          }
          if (peeked == 0) return self->ClientClosed();
          // Over TLS the bytes may be the client's close_notify (encrypted
          // like data in TLS 1.3) rather than a request: read them.
          if constexpr (std::is_same_v<Stream, TlsStream>)
            self->ReadInExchange();
        });
  }

  // One read while a handler works (TLS only): a close or error is the
  // client hanging up; data is a pipelined request, kept in buffer_ for its
  // turn.
  void ReadInExchange() {
    reading_in_exchange_ = true;
    stream_.async_read_some(
        buffer_.prepare(4096), [self = this->shared_from_this()](
                                   beast::error_code ec, std::size_t read) {
          self->reading_in_exchange_ = false;
          if (ec) {
            self->failed_ = true;
            if (self->in_exchange_) self->ClientClosed();
          } else {
            self->buffer_.commit(read);
          }
          // The exchange ended while the read was out: its turn now.
          if (std::exchange(self->resume_after_read_, false)) {
            self->ExchangeDone();
          }
        });
  }

  void ClientClosed() {
    client_closed_ = true;
    if (on_closed_) std::exchange(on_closed_, nullptr)();
  }

  // Answers `refusal` to a request whose body is not read, then closes
  // after a lingering drain: closing with the body's bytes unread would
  // reset the connection, and the reset can destroy the answer before the
  // client reads it.
  void Refuse(HttpResponse refusal) {
    keep_alive_ = false;
    linger_ = true;
    in_exchange_ = true;
    answer_started_ = false;
    Respond(std::move(refusal));
  }

  // Reads and discards what the client still sends, for at most
  // header_timeout (and never more than max_body_bytes), then closes.
  void LingeringClose() {
    beast::error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_send, ignored);
    Lowest().expires_after(Chrono(shared_.options.header_timeout));
    Discard(0);
  }
  void Discard(std::uint64_t discarded) {
    buffer_.consume(buffer_.size());
    Lowest().async_read_some(
        buffer_.prepare(16384), [self = this->shared_from_this(), discarded](
                                    beast::error_code ec, std::size_t read) {
          if (ec || discarded + read > self->shared_.options.max_body_bytes) {
            return self->Close();
          }
          self->Discard(discarded + read);
        });
  }

  // Answers an error the server itself found and closes the connection (the
  // rest of the request may still be on its way).
  void Fail(int status, const std::string& message) {
    keep_alive_ = false;
    in_exchange_ = true;
    Respond(shared_.options.error_response(status, message));
  }

  void Close() {
    beast::error_code ignored;
    // Over TLS too, without waiting for the client's close_notify: every
    // answer is delimited (Content-Length or chunked), so a TCP close cannot
    // truncate one unnoticed.
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  // Queues an output step; steps run one at a time, in order.
  void Enqueue(std::function<void(std::function<void(bool)>)> step) {
    steps_.push_back(std::move(step));
    PumpSteps();
  }
  void PumpSteps() {
    if (stepping_ || steps_.empty()) return;
    stepping_ = true;
    auto step = std::move(steps_.front());
    steps_.pop_front();
    Lowest().expires_after(Chrono(shared_.options.body_timeout));
    step([self = this->shared_from_this()](bool ok) {
      self->stepping_ = false;
      if (!ok) {
        self->failed_ = true;
        self->Close();
      }
      self->PumpSteps();
    });
  }
  // After the whole answer: the next request, or the end.
  void ExchangeDone() {
    in_exchange_ = false;
    on_closed_ = nullptr;
    ReleaseBody();
    if (linger_ && !failed_) return LingeringClose();
    if (failed_ || !keep_alive_ || client_closed_) return Close();
    // One read at a time: the watch's read finishes first.
    if (reading_in_exchange_) {
      resume_after_read_ = true;
      return;
    }
    AwaitRequest();
  }

  class Exchange;

  // The connection's place under http.max_connections; a WebSocket the
  // connection becomes takes it over.
  internal::ConnectionGate::Slot slot_;
  const std::shared_ptr<ssl::context> context_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const Shared& shared_;
  std::string peer_;
  std::string identity_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool in_exchange_ = false;
  bool answer_started_ = false;  // of the exchange in progress
  bool linger_ = false;          // refused unread: drain, then close
  // Of shared_.body_budget, for the request in progress.
  int64_t reserved_body_bytes_ = 0;
  uint64_t exchange_number_ = 0;
  bool client_closed_ = false;
  bool failed_ = false;
  bool reading_in_exchange_ = false;
  bool resume_after_read_ = false;
  std::function<void()> on_closed_;
  std::deque<std::function<void(std::function<void(bool)>)>> steps_;
  bool stepping_ = false;
  // A streamed response's pieces, alive while written.
  std::shared_ptr<bhttp::response<bhttp::empty_body>> stream_head_;
  std::shared_ptr<bhttp::response_serializer<bhttp::empty_body>>
      stream_serializer_;
};

template <class Stream>
class Session<Stream>::Exchange final : public HttpExchange {
 public:
  Exchange(std::shared_ptr<Session> session, HttpRequest request,
           uint64_t number)
      : session_(std::move(session)),
        request_(std::move(request)),
        number_(number),
        route_(absl::StrCat(request_.method, " ", request_.path)) {}

  const HttpRequest& request() const override { return request_; }
  const std::string& route() const { return route_; }

  void Respond(HttpResponse response) override {
    net::post(session_->executor(),
              [session = session_, response = std::move(response)]() mutable {
                session->Respond(std::move(response));
              });
  }
  void StartStream(int status, std::string content_type,
                   Headers headers) override {
    net::post(session_->executor(), [session = session_, status,
                                     content_type = std::move(content_type),
                                     headers = std::move(headers)]() mutable {
      session->StartStream(status, std::move(content_type), std::move(headers));
    });
  }
  void Write(std::string data, std::function<void(bool)> written) override {
    net::post(session_->executor(), [session = session_, data = std::move(data),
                                     written = std::move(written)]() mutable {
      session->Write(std::move(data), std::move(written));
    });
  }
  void EndStream() override {
    net::post(session_->executor(),
              [session = session_] { session->EndStream(); });
  }
  void Abort() override {
    net::post(session_->executor(), [session = session_, number = number_] {
      session->AbortExchange(number);
    });
  }
  void OnClientClosed(std::function<void()> closed) override {
    net::post(session_->executor(), [session = session_, route = route_,
                                     number = number_,
                                     closed = std::move(closed)]() mutable {
      session->SetClosedCallback(
          [session, route = std::move(route), number,
           closed = std::move(closed)] {
            internal::RunHandlerCode(
                session->shared_.handler, route, closed,
                [&] { session->AbortExchange(number); });
          });
    });
  }

 private:
  const std::shared_ptr<Session> session_;
  HttpRequest request_;  // handlers may take the body
  const uint64_t number_;
  const std::string route_;
};

template <class Stream>
void Session<Stream>::OnRequest(beast::error_code ec) {
  if (ec == bhttp::error::body_limit) return Fail(413, TooLarge());
  if (ec == beast::error::timeout) {
    return Fail(
        408,
        absl::StrCat("the request body did not arrive within "
                     "http.body_timeout (",
                     absl::FormatDuration(shared_.options.body_timeout), ")"));
  }
  if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset) {
    return Close();
  }
  if (ec) return Fail(400, "malformed HTTP request: " + ec.message());
  Lowest().expires_never();
  bhttp::request<bhttp::string_body> request = parser_->release();
  parser_.reset();
  keep_alive_ = request.keep_alive();
  version_ = request.version();
  in_exchange_ = true;
  answer_started_ = false;
  ++exchange_number_;
  WatchForClose();
  auto exchange = std::make_shared<Exchange>(
      this->shared_from_this(), ToRequest(std::move(request), peer_, identity_),
      exchange_number_);
  internal::RunHandlerCode(
      shared_.handler, exchange->route(),
      [&] { shared_.handler.Handle(exchange); },
      [&] { AbortExchange(exchange_number_); });
}

template <class Stream>
void Session<Stream>::AbortExchange(uint64_t number) {
  if (number != exchange_number_ || !in_exchange_) return;
  keep_alive_ = false;
  if (answer_started_) {
    // Half an answer is out: only closing tells the client it is cut.
    failed_ = true;
    return Close();
  }
  Respond(shared_.options.error_response(
      500, "the gateway failed on this request; it was logged"));
}

template <class Stream>
void Session<Stream>::SetClosedCallback(std::function<void()> closed) {
  if (!in_exchange_) return;
  if (client_closed_) return closed();
  on_closed_ = std::move(closed);
}

template <class Stream>
void Session<Stream>::Respond(HttpResponse response) {
  answer_started_ = true;
  auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
      static_cast<bhttp::status>(response.status), version_);
  message->set(bhttp::field::server, "voxgate");
  message->set(bhttp::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) message->set(name, value);
  message->body() = std::move(response.body);
  message->keep_alive(keep_alive_);
  message->prepare_payload();
  Enqueue([self = this->shared_from_this(),
           message](std::function<void(bool)> done) {
    bhttp::async_write(
        self->stream_, *message,
        [message, done](beast::error_code ec, std::size_t) { done(!ec); });
  });
  Enqueue([self = this->shared_from_this()](std::function<void(bool)> done) {
    done(true);
    self->ExchangeDone();
  });
}

template <class Stream>
void Session<Stream>::StartStream(int status, std::string content_type,
                                  Headers headers) {
  answer_started_ = true;
  stream_head_ = std::make_shared<bhttp::response<bhttp::empty_body>>(
      static_cast<bhttp::status>(status), version_);
  stream_head_->set(bhttp::field::server, "voxgate");
  stream_head_->set(bhttp::field::content_type, content_type);
  for (auto& [name, value] : headers) stream_head_->set(name, value);
  stream_head_->keep_alive(keep_alive_);
  stream_head_->chunked(true);
  stream_serializer_ =
      std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(
          *stream_head_);
  Enqueue([self = this->shared_from_this()](std::function<void(bool)> done) {
    bhttp::async_write_header(
        self->stream_, *self->stream_serializer_,
        [done](beast::error_code ec, std::size_t) { done(!ec); });
  });
}

template <class Stream>
void Session<Stream>::Write(std::string data,
                            std::function<void(bool)> written) {
  auto piece = std::make_shared<std::string>(std::move(data));
  Enqueue([self = this->shared_from_this(), piece,
           written = std::move(written)](std::function<void(bool)> done) {
    if (self->failed_) {
      done(false);
      return internal::RunHandlerCode(
          self->shared_.handler, "streamed response", [&] { written(false); },
          [] {});
    }
    net::async_write(
        self->stream_, bhttp::make_chunk(net::buffer(*piece)),
        [self, piece, done, written](beast::error_code ec, std::size_t) {
          done(!ec);
          internal::RunHandlerCode(
              self->shared_.handler, "streamed response",
              [&] { written(!ec); },
              [&] {
                self->failed_ = true;
                self->Close();
              });
        });
  });
}

template <class Stream>
void Session<Stream>::EndStream() {
  Enqueue([self = this->shared_from_this()](std::function<void(bool)> done) {
    if (self->failed_) return done(false);
    net::async_write(self->stream_, bhttp::make_chunk_last(),
                     [done](beast::error_code ec, std::size_t) { done(!ec); });
  });
  Enqueue([self = this->shared_from_this()](std::function<void(bool)> done) {
    self->stream_serializer_.reset();
    self->stream_head_.reset();
    done(true);
    self->ExchangeDone();
  });
}


}  // namespace voxgate::http::internal

#endif  // VOXGATE_HTTP_HTTP_SESSION_H_
