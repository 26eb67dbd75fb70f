#ifndef VOXGATE_SERVER_CALL_METRICS_H_
#define VOXGATE_SERVER_CALL_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace voxgate::server {

// Per-RPC metrics with the go-grpc-prometheus names: grpc_server_started_total,
// grpc_server_handled_total (by code), grpc_server_handling_seconds, and
// voxgate_gateway_overhead_seconds (total minus upstream time). Every method
// and code series exists from the start (at 0). Thread-safe.
class CallMetrics {
 public:
  CallMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // `method` is the RPC name ("Chat"); `type` unary, server_stream or
  // bidi_stream.
  void Started(const std::string& method);
  void Handled(const std::string& method, absl::StatusCode code,
               absl::Duration total, absl::Duration upstream);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  prometheus::Family<prometheus::Histogram>& overhead_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CALL_METRICS_H_
