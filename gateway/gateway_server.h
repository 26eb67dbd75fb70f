#ifndef VOXGATE_GATEWAY_GATEWAY_SERVER_H_
#define VOXGATE_GATEWAY_GATEWAY_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "call/admission.h"
#include "call/call_metrics.h"
#include "common/byte_budget.h"
#include "common/logging.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "config/config.h"
#include "gateway/admin_server.h"
#include "gateway/pool_health.h"
#include "grpcpp/grpcpp.h"
#include "operations/operation_services.h"
#include "tenancy/tenancy.h"
#include "upstream/upstreams.h"

namespace voxgate::server {
class VoxgateServiceImpl;
class OperationsServiceImpl;
}  // namespace voxgate::server
namespace voxgate::operations {
class AudioFetcher;
class OperationStore;
}  // namespace voxgate::operations
namespace voxgate::http {
class HttpFrontDoor;
}  // namespace voxgate::http
namespace voxgate::gateway {

// The gRPC server: voxgate.v1.VoxgateService, grpc.health.v1 (overall and per
// service) and server reflection, with the transport settings of the config.
class GatewayServer {
 public:
  struct Options {
    // Runs on the builder before the server starts; tests add services with it.
    std::function<void(grpc::ServerBuilder&)> customize;
    // Serves from these backends instead of the configured pools (tests of
    // the calls' lifecycle with fake backends). Must outlive the server.
    upstream::Routing* routing = nullptr;
    // Where every timeout of the gateway reads the time (deadlines, stream
    // idle timeouts, retry backoff, admission waits); the real clock when
    // null. Tests drive a whole gateway with a ManualClock. Must outlive the
    // server.
    Clock* clock = nullptr;
  };

  // The health service names reported SERVING, then NOT_SERVING while draining
  // (each pool also has its own entry: PoolHealthReporter).
  static constexpr const char* kServiceName = "voxgate.v1.VoxgateService";

  // Builds the upstreams and audio workers, binds and starts serving. Returns
  // UNAVAILABLE naming server.listen when the address cannot be bound, and the
  // upstream layer's error (e.g. an API key variable unset) when it cannot
  // start.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      const Config& config, const Logger& logger, Options options);
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      const Config& config, const Logger& logger) {
    return Start(config, logger, Options());
  }

  // Shuts down at once (cancelling calls) unless Drain() already ran.
  ~GatewayServer();

  // The bound gRPC port (useful with listen port 0).
  int port() const { return port_; }
  // The bound admin HTTP port.
  int admin_port() const;
  // The bound port of the HTTP front door; 0 when server.http_listen is off.
  int http_port() const;

  // Graceful stop: health turns NOT_SERVING at once, so load balancers and
  // endpoint controllers take the replica out, while new calls are still
  // served for server.drain_delay (what a Kubernetes preStop sleep did, with
  // no shell in the image). Then new calls are refused (UNAVAILABLE, HTTP
  // 503), the listeners close, and calls in flight on either door get up to
  // server.drain_timeout to finish and are cancelled after. Blocks until
  // done; call it from a thread that is not a gRPC callback thread.
  // Idempotent.
  void Drain();
  // Ends a Drain()'s drain_delay now (a second SIGTERM or SIGINT: the
  // operator does not want to wait). Any thread.
  void SkipDrainDelay() { skip_drain_delay_.Notify(); }

 private:
  GatewayServer(const Config& config, const Logger& logger, Clock& clock);

  const Config config_;
  const Logger& logger_;
  TimerQueue timers_;  // admission waits, stream idle timeouts
  call::CallMetrics metrics_;
  // The HTTP listeners' certificate (tls.http, tls.admin); outlives them.
  std::unique_ptr<http::TlsContextSource> http_tls_;
  // Admission outlives the tenancy: a check the limiter's thread still holds
  // at shutdown is answered into it as that thread stops.
  std::unique_ptr<call::Admission> admission_;
  // Null without auth.keys_file.
  std::unique_ptr<tenancy::Tenancy> tenancy_;
  // Destroyed in reverse: the server, then the service, then the workers (whose
  // jobs may use the embedded engine), then the upstreams.
  std::unique_ptr<upstream::Upstreams> upstreams_;
  upstream::Routing* routing_ = nullptr;  // upstreams_, or the test's
  std::unique_ptr<WorkerPool> workers_;
  // AudioInput.uri; outlives the service, whose calls' fetches it ends.
  std::unique_ptr<operations::AudioFetcher> fetcher_;
  // BatchTranscribe's operations: Redis with redis.address, else memory.
  // Outlives the service, whose batches write to it to the end.
  std::unique_ptr<operations::OperationStore> operation_store_;
  // What every operation uses, whichever door runs it; the budgets bound
  // spooled uploads and decoded audio over all calls.
  std::unique_ptr<ByteBudget> spool_budget_;
  std::unique_ptr<ByteBudget> decoded_audio_budget_;
  std::unique_ptr<operations::OperationServices> operations_;
  std::unique_ptr<server::VoxgateServiceImpl> service_;
  std::unique_ptr<server::OperationsServiceImpl> operations_service_;
  std::unique_ptr<grpc::Server> server_;
  // Null when server.http_listen is off.
  std::unique_ptr<http::HttpFrontDoor> http_;
  std::unique_ptr<PoolHealthReporter> pool_health_;
  // Declared last, so it stops first: its metrics read everything above.
  std::unique_ptr<AdminServer> admin_;
  int port_ = 0;
  bool drained_ = false;
  // Set as Drain() begins, before drain_delay: readiness turns false then.
  std::atomic<bool> stopping_{false};
  absl::Notification skip_drain_delay_;
};

}  // namespace voxgate::gateway

#endif  // VOXGATE_GATEWAY_GATEWAY_SERVER_H_
