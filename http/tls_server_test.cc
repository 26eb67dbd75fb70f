// The HTTP server over TLS on loopback, with certificates made here by
// OpenSSL: a real handshake and request, a plaintext client refused, a key
// that does not load named without its contents, and a rotation reaching new
// connections while an open one keeps its certificate. Runs under ASan.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/manual_clock.h"
#include "common/timer_queue.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http/http_server.h"
#include "http/tls_context.h"

namespace voxgate::http {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string& TempDir() {
  static const std::string* dir = new std::string(std::getenv("TEST_TMPDIR"));
  return *dir;
}

std::string ToPem(X509* certificate) {
  BIO* memory = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(memory, certificate);
  char* data = nullptr;
  const long length = BIO_get_mem_data(memory, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(memory);
  return pem;
}

// A self-signed certificate for "localhost" (its own CA) and its key, as PEM
// files `name`.pem and `name`.key; returns the certificate's PEM.
std::string WriteSelfSigned(const std::string& name, long serial) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate), -60);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 86400);
  X509_set_pubkey(certificate, key);
  X509_NAME* subject = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(
      subject, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(certificate, subject);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       {std::pair{NID_subject_alt_name, "DNS:localhost"},
        std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* extension =
        X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(certificate, key, EVP_sha256());
  const std::string base = TempDir() + "/" + name;
  FILE* cert_file = std::fopen((base + ".pem").c_str(), "w");
  PEM_write_X509(cert_file, certificate);
  std::fclose(cert_file);
  FILE* key_file = std::fopen((base + ".key").c_str(), "w");
  PEM_write_PrivateKey(key_file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(key_file);
  std::string pem = ToPem(certificate);
  X509_free(certificate);
  EVP_PKEY_free(key);
  return pem;
}

// Moves `from` over `to` in one step, as the kubelet swaps a Secret.
void ReplaceByRename(const std::string& from, const std::string& to) {
  ASSERT_EQ(std::rename(from.c_str(), to.c_str()), 0);
}

// Answers "hello" to every request.
class HelloHandler final : public HttpHandler {
 public:
  void Handle(std::shared_ptr<HttpExchange> exchange) override {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = "hello";
    exchange->Respond(std::move(response));
  }
  bool AcceptsWebSocket(absl::string_view) const override { return false; }
  void HandleWebSocket(std::shared_ptr<WebSocketConnection>) override {}
  std::optional<HttpResponse> CheckHead(const HttpRequest&) override {
    return std::nullopt;
  }
  void OnEscapedException(absl::string_view, absl::string_view) override {
    ADD_FAILURE() << "HelloHandler throws nothing";
  }
};

// A client connection trusting `ca_file`.
class Client {
 public:
  Client(int port, const std::string& ca_file)
      : context_(ssl::context::tls_client), stream_(io_, context_) {
    context_.load_verify_file(ca_file);
    context_.set_verify_mode(ssl::verify_peer);
    SSL_set_tlsext_host_name(stream_.native_handle(), "localhost");
    beast::get_lowest_layer(stream_).connect(tcp::endpoint(
        net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    stream_.handshake(ssl::stream_base::client);
  }

  // GET / on this connection (kept alive): the status and body.
  std::pair<int, std::string> Get() {
    bhttp::request<bhttp::empty_body> request(bhttp::verb::get, "/", 11);
    request.set(bhttp::field::host, "localhost");
    bhttp::write(stream_, request);
    bhttp::response<bhttp::string_body> response;
    bhttp::read(stream_, buffer_, response);
    return {static_cast<int>(response.result_int()), response.body()};
  }

  // Whether the server still keeps the connection: false once it has closed
  // it (shut down its side) within `wait_ms`. Looks at the TCP socket, not
  // TLS records: session tickets may be waiting there unread.
  bool Connected(int wait_ms) {
    pollfd watched{beast::get_lowest_layer(stream_).socket().native_handle(),
                   POLLRDHUP, 0};
    return poll(&watched, 1, wait_ms) == 0;
  }

  // The server's certificate in PEM.
  std::string PeerCertificate() {
    X509* certificate = SSL_get1_peer_certificate(stream_.native_handle());
    std::string pem = ToPem(certificate);
    X509_free(certificate);
    return pem;
  }

 private:
  net::io_context io_;
  ssl::context context_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    first_pem_ = WriteSelfSigned("first", 1);
    files_.cert_file = TempDir() + "/serving.pem";
    files_.key_file = TempDir() + "/serving.key";
    ReplaceByRename(TempDir() + "/first.pem", files_.cert_file);
    ReplaceByRename(TempDir() + "/first.key", files_.key_file);
    ca_file_ = TempDir() + "/trusted.pem";
    std::ofstream(ca_file_) << first_pem_;
  }

  // The TLS source from files_ (kept in tls_), and a server on it.
  std::unique_ptr<HttpServer> StartServer() {
    auto tls =
        TlsContextSource::Create(files_, absl::Seconds(1), timers_, logger_);
    EXPECT_TRUE(tls.ok()) << tls.status();
    if (!tls.ok()) return nullptr;
    tls_ = *std::move(tls);
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 1;
    options.tls = tls_.get();
    options.error_response = [](int status, const std::string& message) {
      return HttpResponse{status, "text/plain", {}, message};
    };
    auto server = HttpServer::Start(options, handler_);
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }

  // Waits until the watcher has looked at the files once more.
  void LetTheWatcherLook() {
    clock_.Advance(absl::Seconds(1));
    absl::Notification looked;
    timers_.ScheduleAfter(absl::ZeroDuration(), [&] { looked.Notify(); });
    ASSERT_TRUE(looked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }

  std::string first_pem_;
  std::string ca_file_;
  TlsFiles files_;
  ManualClock clock_;
  TimerQueue timers_{clock_};
  Logger logger_{LogLevel::kWarning};
  HelloHandler handler_;
  std::unique_ptr<TlsContextSource> tls_;  // outlives the tests' servers
};

TEST_F(TlsServerTest, ServesARequestOverTls) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client client(server->port(), ca_file_);
  EXPECT_EQ(client.Get(), std::make_pair(200, std::string("hello")));
  EXPECT_EQ(client.Get(), std::make_pair(200, std::string("hello")));
}

TEST_F(TlsServerTest, APlaintextClientGetsNoAnswerAndOthersAreServed) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  net::io_context io;
  tcp::socket plain(io);
  plain.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"),
                              static_cast<unsigned short>(server->port())));
  net::write(plain, net::buffer(std::string("GET / HTTP/1.1\r\n\r\n")));
  std::string answer;
  beast::error_code ec;
  net::read(plain, net::dynamic_buffer(answer), ec);
  EXPECT_TRUE(ec);  // closed
  EXPECT_THAT(answer, Not(HasSubstr("HTTP/1.1")));
  Client client(server->port(), ca_file_);
  EXPECT_EQ(client.Get().first, 200);
}

TEST_F(TlsServerTest, AKeyThatDoesNotLoadIsNamedWithoutItsContents) {
  std::ofstream(files_.key_file) << first_pem_;  // a certificate, not a key
  auto tls =
      TlsContextSource::Create(files_, absl::Seconds(1), timers_, logger_);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr("tls.key_file"));
  EXPECT_THAT(tls.status().message(), Not(HasSubstr("BEGIN")));
}

TEST_F(TlsServerTest, ARotationReachesNewConnectionsAndSparesOpenOnes) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client before(server->port(), ca_file_);
  ASSERT_EQ(before.Get().first, 200);

  // Half a rotation: a key that does not load keeps the old certificate.
  std::ofstream(files_.key_file + ".next") << "-----BEGIN PRIVATE KEY-----\n";
  ReplaceByRename(files_.key_file + ".next", files_.key_file);
  LetTheWatcherLook();
  EXPECT_EQ(Client(server->port(), ca_file_).PeerCertificate(), first_pem_);

  const std::string second_pem = WriteSelfSigned("second", 2);
  std::ofstream(ca_file_, std::ios::app) << second_pem;
  ReplaceByRename(TempDir() + "/second.key", files_.key_file);
  ReplaceByRename(TempDir() + "/second.pem", files_.cert_file);
  LetTheWatcherLook();
  EXPECT_EQ(Client(server->port(), ca_file_).PeerCertificate(), second_pem);
  // The connection from before goes on with its certificate.
  EXPECT_EQ(before.Get(), std::make_pair(200, std::string("hello")));
  EXPECT_EQ(before.PeerCertificate(), first_pem_);
}

TEST_F(TlsServerTest, StoppingTheServerClosesOpenConnections) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client idle(server->port(), ca_file_);
  Client kept_alive(server->port(), ca_file_);
  ASSERT_EQ(kept_alive.Get().first, 200);
  ASSERT_TRUE(idle.Connected(/*wait_ms=*/100));
  server.reset();  // under ASan: no session (or its TLS state) outlives it
  EXPECT_FALSE(idle.Connected(/*wait_ms=*/10000));
  EXPECT_FALSE(kept_alive.Connected(/*wait_ms=*/10000));
}

}  // namespace
}  // namespace voxgate::http
