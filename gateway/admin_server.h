#ifndef VOXGATE_GATEWAY_ADMIN_SERVER_H_
#define VOXGATE_GATEWAY_ADMIN_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "http/http_server.h"
#include "prometheus/collectable.h"
#include "call/admission.h"

namespace voxgate::gateway {

// The admin HTTP listener (--admin_listen): /metrics in the Prometheus text
// format, /healthz (the process is alive), /readyz (200 when `ready` returns
// "", else 503 with its reason; the body lists the pools too) and
// /readyz/pools (200 when every pool has an available endpoint, else 503;
// for those who want readiness to follow the model servers). Served by the
// same HTTP server as the front door (Boost.Beast), on one I/O thread of its
// own, plain or over TLS (tls.admin). Thread-safe.
class AdminServer {
 public:
  struct Security {
    // Decides who may read /metrics when set, from the request's
    // `authorization` and `x-api-key` headers: OK, or the refusal (401 or
    // 403). Health and readiness stay open for probes.
    std::function<absl::Status(const call::CallerMetadata&)> authorize_metrics;
    // Set: HTTPS with the source's certificate, no client certificates.
    const http::TlsContextSource* tls = nullptr;
  };

  // UNAVAILABLE naming server.admin_listen when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const std::string& listen,
      std::vector<std::shared_ptr<prometheus::Collectable>> metrics,
      std::function<std::string()> ready,
      std::function<std::map<std::string, bool>()> pools, Security security);
  ~AdminServer();

  // The bound port (useful with port 0).
  int port() const { return server_->port(); }

 private:
  class Handler;
  AdminServer() = default;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace voxgate::gateway

#endif  // VOXGATE_GATEWAY_ADMIN_SERVER_H_
