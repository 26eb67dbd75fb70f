// The last-resort boundary: a handler that throws (on the I/O thread, from a
// later callback, on a WebSocket message) gets its request answered 500 or
// its socket closed with 1011, is reported with its route, and the server
// serves the next request.

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/http_server.h"

namespace voxgate::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Throws where the path says: "/throw" in Handle, "/throw-mid-stream" from
// a write's callback after the head is out; any other path answers "ok".
// A WebSocket message "boom" throws.
class ThrowingHandler final : public HttpHandler {
 public:
  void Handle(std::shared_ptr<HttpExchange> exchange) override {
    const std::string& path = exchange->request().path;
    if (path == "/throw") throw std::runtime_error("thrown in Handle");
    if (path == "/throw-mid-stream") {
      exchange->StartStream(200, "text/plain", {});
      exchange->Write("part", [](bool) {
        throw std::logic_error("thrown after a write");
      });
      return;
    }
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = "ok";
    exchange->Respond(std::move(response));
  }
  bool AcceptsWebSocket(absl::string_view) const override { return true; }
  std::optional<HttpResponse> CheckHead(const HttpRequest&) override {
    return std::nullopt;
  }
  void HandleWebSocket(
      std::shared_ptr<WebSocketConnection> connection) override {
    connection->Read([](absl::StatusOr<WebSocketMessage> message) {
      if (message.ok() && message->data == "boom") throw 42;
    });
  }
  void OnEscapedException(absl::string_view route,
                          absl::string_view what) override {
    absl::MutexLock lock(&mu_);
    reports_.push_back(absl::StrCat(route, ": ", what));
  }

  std::vector<std::string> reports() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }
  // Waits (with a deadline) for `count` reports.
  bool AwaitReports(std::size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return reports_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(30));
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> reports_ ABSL_GUARDED_BY(mu_);
};

class HandlerBoundaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 1;
    options.error_response = [](int status, const std::string& message) {
      return HttpResponse{status, "text/plain", {}, message};
    };
    auto server = HttpServer::Start(options, handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  tcp::endpoint Endpoint() const {
    return tcp::endpoint(net::ip::make_address("127.0.0.1"),
                         static_cast<unsigned short>(server_->port()));
  }

  // GET `path` on a new connection: the status and body, or -1 when the
  // connection ended without a whole answer.
  std::pair<int, std::string> Get(const std::string& path) {
    net::io_context io;
    beast::tcp_stream stream(io);
    stream.connect(Endpoint());
    stream.expires_after(std::chrono::seconds(30));
    bhttp::request<bhttp::empty_body> request(bhttp::verb::get, path, 11);
    request.set(bhttp::field::host, "localhost");
    bhttp::write(stream, request);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    beast::error_code ec;
    bhttp::read(stream, buffer, response, ec);
    if (ec) return {-1, ec.message()};
    return {static_cast<int>(response.result_int()), response.body()};
  }

  ThrowingHandler handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HandlerBoundaryTest, AnExceptionInHandleAnswers500AndTheServerGoesOn) {
  const auto answer = Get("/throw");
  EXPECT_EQ(answer.first, 500);
  EXPECT_THAT(answer.second, HasSubstr("logged"));
  EXPECT_THAT(handler_.reports(), ElementsAre("GET /throw: thrown in Handle"));
  EXPECT_EQ(Get("/ok"), std::make_pair(200, std::string("ok")));
}

TEST_F(HandlerBoundaryTest, AnExceptionAfterPartOfAnAnswerClosesTheConnection) {
  const auto answer = Get("/throw-mid-stream");
  // The head went out; the chunked body never ends: the client sees the
  // connection cut, not a complete answer.
  EXPECT_EQ(answer.first, -1);
  ASSERT_TRUE(handler_.AwaitReports(1));
  EXPECT_THAT(handler_.reports(),
              ElementsAre("streamed response: thrown after a write"));
  EXPECT_EQ(Get("/ok"), std::make_pair(200, std::string("ok")));
}

TEST_F(HandlerBoundaryTest, AnExceptionOnAWebSocketMessageClosesWith1011) {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws(io);
  beast::get_lowest_layer(ws).connect(Endpoint());
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(30));
  ws.handshake("localhost", "/ws");
  ws.write(net::buffer(std::string("boom")));
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws.reason().code, 1011);
  EXPECT_THAT(handler_.reports(),
              ElementsAre("WebSocket /ws: an exception of unknown type"));
  EXPECT_EQ(Get("/ok"), std::make_pair(200, std::string("ok")));
}

}  // namespace
}  // namespace voxgate::http
