#ifndef VOXGATE_HTTP_HTTP_SESSION_H_
#define VOXGATE_HTTP_HTTP_SESSION_H_

// One HTTP connection of HttpServer, plain or over TLS: its requests read in
// turn (the head checked before the body is read), its answers written in
// order, its WebSocket upgrade, and the last-resort boundary around handler
// code. Internal to the server (http_server.cc is its one user).

#include "http/http_session_support.h"

namespace voxgate::http::internal {

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
  void Handshake();

  // Waits for the first byte of the next request (idle timeout), unless
  // pipelined bytes are here already.
  void AwaitRequest();

  void ReadHead();

  void OnHead(beast::error_code ec);

  void ReadBody();

  std::string TooLarge() const {
    return absl::StrCat(
        "the request body is over "
        "server.max_receive_message_bytes (",
        shared_.options.max_body_bytes, " bytes)");
  }

  void OnRequest(beast::error_code ec);
  void ReleaseBody();
  // After an exception escaped the handler of exchange `number`: answers
  // 500, or closes when part of an answer is out. Nothing when that exchange
  // is over.
  void AbortExchange(uint64_t number);

  // While a handler works on a request, learns whether the client hangs up
  // (its calls are then cancelled). Bytes of a pipelined request end the
  // watch: they wait in the socket for their turn.
  void WatchForClose();

  // One read while a handler works (TLS only): a close or error is the
  // client hanging up; data is a pipelined request, kept in buffer_ for its
  // turn.
  void ReadInExchange();

  void ClientClosed();

  // Answers `refusal` to a request whose body is not read, then closes
  // after a lingering drain: closing with the body's bytes unread would
  // reset the connection, and the reset can destroy the answer before the
  // client reads it.
  void Refuse(HttpResponse refusal);

  // Reads and discards what the client still sends, for at most
  // header_timeout (and never more than max_body_bytes), then closes.
  void LingeringClose();
  void Discard(std::uint64_t discarded);

  // Answers an error the server itself found and closes the connection (the
  // rest of the request may still be on its way).
  void Fail(int status, const std::string& message);

  void Close();

  // Queues an output step; steps run one at a time, in order.
  void Enqueue(std::function<void(std::function<void(bool)>)> step);
  void PumpSteps();
  // After the whole answer: the next request, or the end.
  void ExchangeDone();

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

}  // namespace voxgate::http::internal

// The member functions, in two files by job.
#include "http/http_session_answers.inc"  // IWYU pragma: export
#include "http/http_session_reading.inc"  // IWYU pragma: export

#endif  // VOXGATE_HTTP_HTTP_SESSION_H_
