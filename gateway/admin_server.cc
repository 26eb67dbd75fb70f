#include "gateway/admin_server.h"

#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace voxgate::gateway {
namespace {

constexpr char kText[] = "text/plain; charset=utf-8";

// A request's headers as admission checks read metadata.
class RequestHeaders final : public call::CallerMetadata {
 public:
  explicit RequestHeaders(const http::HttpRequest& request)
      : request_(request) {}
  std::optional<absl::string_view> Find(absl::string_view key) const override {
    return request_.Header(key);
  }

 private:
  const http::HttpRequest& request_;
};

http::HttpResponse Text(int status, std::string body) {
  http::HttpResponse response;
  response.status = status;
  response.content_type = kText;
  response.body = std::move(body);
  return response;
}

// One line per pool; whether all are available.
bool DescribePools(const std::map<std::string, bool>& pools, std::string& out) {
  bool all = true;
  for (const auto& [pool, available] : pools) {
    absl::StrAppend(&out, "pool ", pool, ": ",
                    available ? "available" : "no available endpoint", "\n");
    all &= available;
  }
  return all;
}

}  // namespace

class AdminServer::Handler final : public http::HttpHandler {
 public:
  Handler(std::vector<std::shared_ptr<prometheus::Collectable>> metrics,
          std::function<std::string()> ready,
          std::function<std::map<std::string, bool>()> pools, Security security)
      : metrics_(std::move(metrics)),
        ready_(std::move(ready)),
        pools_(std::move(pools)),
        security_(std::move(security)) {}

  // Each answer is cheap (gauges read at scrape time): answered on the I/O
  // thread.
  void Handle(std::shared_ptr<http::HttpExchange> exchange) override {
    const http::HttpRequest& request = exchange->request();
    if (request.method != "GET") {
      http::HttpResponse refused =
          Text(405, "the admin port answers GET only\n");
      refused.headers.emplace_back("allow", "GET");
      return exchange->Respond(std::move(refused));
    }
    exchange->Respond(Answer(request));
  }
  bool AcceptsWebSocket(absl::string_view) const override { return false; }
  void HandleWebSocket(std::shared_ptr<http::WebSocketConnection>) override {}
  std::optional<http::HttpResponse> CheckHead(const http::HttpRequest&) override {
    return std::nullopt;
  }
  // The admin port reads no caller body and builds every answer from its
  // own state; the server has answered 500 already, and there is nothing
  // the probes need logged.
  void OnEscapedException(absl::string_view, absl::string_view) override {}

 private:
  http::HttpResponse Answer(const http::HttpRequest& request) const {
    if (request.path == "/metrics") return Metrics(request);
    if (request.path == "/healthz") return Text(200, "ok\n");
    if (request.path == "/readyz") {
      const std::string reason = ready_();
      std::string body = reason.empty() ? "ready\n" : reason + "\n";
      DescribePools(pools_(), body);
      return Text(reason.empty() ? 200 : 503, std::move(body));
    }
    if (request.path == "/readyz/pools") {
      std::string body;
      const bool all = DescribePools(pools_(), body);
      return Text(all ? 200 : 503, std::move(body));
    }
    return Text(404, absl::StrCat("no ", request.path,
                                  " here: the admin port serves /metrics, "
                                  "/healthz, /readyz and /readyz/pools\n"));
  }

  http::HttpResponse Metrics(const http::HttpRequest& request) const {
    if (security_.authorize_metrics) {
      const absl::Status allowed =
          security_.authorize_metrics(RequestHeaders(request));
      if (!allowed.ok()) {
        return Text(
            allowed.code() == absl::StatusCode::kUnauthenticated ? 401 : 403,
            std::string(allowed.message()) + "\n");
      }
    }
    std::vector<prometheus::MetricFamily> families;
    for (const auto& collectable : metrics_) {
      for (auto& family : collectable->Collect()) {
        families.push_back(std::move(family));
      }
    }
    std::ostringstream text;
    prometheus::TextSerializer().Serialize(text, families);
    http::HttpResponse response = Text(200, std::move(text).str());
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return response;
  }

  const std::vector<std::shared_ptr<prometheus::Collectable>> metrics_;
  const std::function<std::string()> ready_;
  const std::function<std::map<std::string, bool>()> pools_;
  const Security security_;
};

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const std::string& listen,
    std::vector<std::shared_ptr<prometheus::Collectable>> metrics,
    std::function<std::string()> ready,
    std::function<std::map<std::string, bool>()> pools, Security security) {
  std::unique_ptr<AdminServer> admin(new AdminServer());
  http::HttpServerOptions options;
  options.listen = listen;
  options.listen_key = "server.admin_listen";
  options.threads = 1;
  // Probes and scrapers: a few at a time, within the descriptors the front
  // door leaves free.
  options.max_connections = 64;
  options.tls = security.tls;
  options.tls_client_auth = false;
  // Probes and scrapers send small requests; nothing here takes a body.
  options.max_body_bytes = 64 << 10;
  options.error_response = [](int status, const std::string& message) {
    return Text(status, message + "\n");
  };
  admin->handler_ =
      std::make_unique<Handler>(std::move(metrics), std::move(ready),
                                std::move(pools), std::move(security));
  auto server = http::HttpServer::Start(options, *admin->handler_);
  if (!server.ok()) return server.status();
  admin->server_ = *std::move(server);
  return admin;
}

// The server first: its threads may be answering through the handler.
AdminServer::~AdminServer() { server_.reset(); }

}  // namespace voxgate::gateway
