#include "http/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "http/http_session.h"

namespace voxgate::http {

// The listener needs only these; the connection's own are in http_session.h.
namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

using internal::ConnectionGate;
using internal::PlainStream;
using internal::Session;
using internal::SessionRegistry;
using internal::Shared;
using internal::TlsStream;

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, HttpHandler& handler)
      : body_budget_(static_cast<int64_t>(options.max_body_bytes_in_flight)),
        connections_(options.max_connections,
                     options.max_connections_per_peer),
        shared_{options, handler, sessions_, body_budget_, connections_},
        io_(options.threads),
        acceptor_(net::make_strand(io_)),
        retry_(acceptor_.get_executor()) {}

  absl::Status Listen() {
    const std::size_t colon = shared_.options.listen.rfind(':');
    int port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(shared_.options.listen.substr(colon + 1), &port)) {
      return absl::InvalidArgumentError(shared_.options.listen_key +
                                        ": expected host:port");
    }
    std::string host = shared_.options.listen.substr(0, colon);
    if (host.size() > 1 && host.front() == '[')
      host = host.substr(1, host.size() - 2);
    beast::error_code ec;
    const net::ip::address address = net::ip::make_address(host, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat(shared_.options.listen_key, ": cannot listen on ",
                       shared_.options.listen, ": ", ec.message()));
    }
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat(shared_.options.listen_key, ": cannot listen on ",
                       shared_.options.listen, ": ", ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < shared_.options.threads; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    return absl::OkStatus();
  }

  void StopAccepting() {
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
    });
  }

  ~Impl() {
    connections_.Close();
    StopAccepting();
    // Open connections end on the I/O threads; one whose answer a handler
    // still holds past the bound is cut off by stop().
    sessions_.CloseAllAndAwait(absl::Now() + absl::Seconds(5));
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
  }

  int port() const { return port_; }

 private:
  // Takes the next connection, unless http.max_connections are open: then
  // the listen queue holds newcomers until one closes (the kernel's backlog
  // bounds it). Runs on the acceptor's strand.
  void Accept() {
    if (!acceptor_.is_open()) return;
    const bool room = connections_.RoomFor([this] {
      net::post(acceptor_.get_executor(), [this] { Accept(); });
    });
    if (!room) return;
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec,
                                                         tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
        return;
      }
      if (ec == net::error::no_descriptors ||
          ec == boost::system::errc::too_many_files_open_in_system ||
          ec == net::error::no_buffer_space || ec == net::error::no_memory) {
        // Out of descriptors: accepting again at once would spin. Wait a
        // little; closing connections free some meanwhile.
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this](beast::error_code waited) {
          if (!waited) Accept();
        });
        return;
      }
      if (!ec) Serve(std::move(socket));
      Accept();
    });
  }

  void Serve(tcp::socket socket) {
    beast::error_code ec;
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    internal::ConnectionGate::Slot slot =
        connections_.Enter(ec ? std::string() : peer.address().to_string());
    if (slot == nullptr) {
      // This peer holds http.max_connections_per_peer: closed unanswered.
      socket.close(ec);
      return;
    }
    if (shared_.options.tls == nullptr) {
      std::make_shared<Session<PlainStream>>(std::move(socket), nullptr,
                                             shared_, std::move(slot))
          ->Start();
      return;
    }
    const TlsContextSource& tls = *shared_.options.tls;
    std::make_shared<Session<TlsStream>>(
        std::move(socket),
        shared_.options.tls_client_auth ? tls.WithClientAuth()
                                        : tls.WithoutClientAuth(),
        shared_, std::move(slot))
        ->Start();
  }

  SessionRegistry sessions_;
  ByteBudget body_budget_;
  // Before io_: sessions the io_context destroys give their slots back.
  internal::ConnectionGate connections_;
  const Shared shared_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::vector<std::thread> threads_;
  int port_ = 0;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler& handler) {
  auto impl = std::make_unique<Impl>(options, handler);
  if (absl::Status listening = impl->Listen(); !listening.ok()) {
    return listening;
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
int HttpServer::port() const { return impl_->port(); }
void HttpServer::StopAccepting() { impl_->StopAccepting(); }

}  // namespace voxgate::http
