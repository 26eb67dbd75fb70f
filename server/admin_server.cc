#include "server/admin_server.h"

#include <CivetServer.h>

#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace voxgate::server {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    default:
      return "Service Unavailable";
  }
}

void Reply(mg_connection* connection, int status, const char* content_type,
           const std::string& body) {
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Connection: close\r\n\r\n",
            status, Reason(status), content_type, body.size());
  mg_write(connection, body.data(), body.size());
}

// A request's headers as admission checks read metadata.
class RequestHeaders final : public CallerMetadata {
 public:
  explicit RequestHeaders(mg_connection* connection)
      : connection_(connection) {}
  std::optional<absl::string_view> Find(absl::string_view key) const override {
    const char* value = mg_get_header(connection_, std::string(key).c_str());
    if (value == nullptr) return std::nullopt;
    return absl::string_view(value);
  }

 private:
  mg_connection* connection_;
};

class FunctionHandler final : public CivetHandler {
 public:
  explicit FunctionHandler(std::function<void(mg_connection*)> handle)
      : handle_(std::move(handle)) {}
  bool handleGet(CivetServer*, mg_connection* connection) override {
    handle_(connection);
    return true;
  }

 private:
  std::function<void(mg_connection*)> handle_;
};

}  // namespace

struct AdminServer::Handlers {
  FunctionHandler metrics;
  FunctionHandler healthz;
  FunctionHandler readyz;
  FunctionHandler readyz_pools;
};

namespace {

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

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const std::string& listen,
    std::vector<std::shared_ptr<prometheus::Collectable>> metrics,
    std::function<std::string()> ready,
    std::function<std::map<std::string, bool>()> pools, Security security) {
  std::unique_ptr<AdminServer> admin(new AdminServer());
  admin->handlers_.reset(new Handlers{
      FunctionHandler([metrics, authorize = security.authorize_metrics](
                          mg_connection* connection) {
        if (authorize) {
          const absl::Status allowed = authorize(RequestHeaders(connection));
          if (!allowed.ok()) {
            Reply(connection,
                  allowed.code() == absl::StatusCode::kUnauthenticated ? 401
                                                                       : 403,
                  "text/plain", std::string(allowed.message()) + "\n");
            return;
          }
        }
        std::vector<prometheus::MetricFamily> families;
        for (const auto& collectable : metrics) {
          for (auto& family : collectable->Collect())
            families.push_back(std::move(family));
        }
        std::ostringstream text;
        prometheus::TextSerializer().Serialize(text, families);
        Reply(connection, 200, "text/plain; version=0.0.4; charset=utf-8",
              text.str());
      }),
      FunctionHandler([](mg_connection* connection) {
        Reply(connection, 200, "text/plain", "ok\n");
      }),
      FunctionHandler([ready, pools](mg_connection* connection) {
        const std::string reason = ready();
        std::string body = reason.empty() ? "ready\n" : reason + "\n";
        DescribePools(pools(), body);
        Reply(connection, reason.empty() ? 200 : 503, "text/plain", body);
      }),
      FunctionHandler([pools](mg_connection* connection) {
        std::string body;
        const bool all = DescribePools(pools(), body);
        Reply(connection, all ? 200 : 503, "text/plain", body);
      })});
  // civetweb wants "host:port"; it reports failure by exception (its C++
  // boundary).
  // Plain HTTP only: Debian's civetweb 1.15 completes no HTTPS handshake with
  // OpenSSL 3 (README "Tenants").
  const std::vector<std::string> options = {"listening_ports", listen,
                                            "num_threads", "2"};
  try {
    admin->server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& error) {
    return absl::UnavailableError(absl::StrCat(
        "server.admin_listen: cannot listen on ", listen, ": ", error.what()));
  }
  admin->server_->addHandler("/metrics", admin->handlers_->metrics);
  admin->server_->addHandler("/healthz", admin->handlers_->healthz);
  // civetweb takes the first handler whose URI prefixes the request's.
  admin->server_->addHandler("/readyz/pools", admin->handlers_->readyz_pools);
  admin->server_->addHandler("/readyz", admin->handlers_->readyz);
  std::vector<int> ports = admin->server_->getListeningPorts();
  admin->port_ = ports.empty() ? 0 : ports[0];
  return admin;
}

AdminServer::~AdminServer() {
  if (server_ != nullptr) server_->close();
}

}  // namespace voxgate::server
