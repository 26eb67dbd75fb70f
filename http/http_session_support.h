#ifndef VOXGATE_HTTP_HTTP_SESSION_SUPPORT_H_
#define VOXGATE_HTTP_HTTP_SESSION_SUPPORT_H_

// Beast's names and the small conversions a connection of HttpServer uses:
// a request from Beast's, the peer's address, a stream to run it on.
// Internal to the server.

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
inline TlsStream MakeStream(tcp::socket socket, TlsStream*,
                            ssl::context* context) {
  return TlsStream(PlainStream(std::move(socket)), *context);
}

}  // namespace voxgate::http::internal

#endif  // VOXGATE_HTTP_HTTP_SESSION_SUPPORT_H_
