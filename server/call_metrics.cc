#include "server/call_metrics.h"

#include <map>

namespace voxgate::server {
namespace {

constexpr char kService[] = "voxgate.v1.VoxgateService";

const std::map<std::string, std::string>& MethodTypes() {
  static const auto* types = new std::map<std::string, std::string>{
      {"Transcribe", "unary"},
      {"Analyze", "unary"},
      {"Chat", "unary"},
      {"ListModels", "unary"},
      {"ChatStream", "server_stream"},
      {"StreamTranscribe", "bidi_stream"}};
  return *types;
}

// The Go names go-grpc-prometheus uses for codes ("OK", "InvalidArgument").
std::string CodeName(absl::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "Canceled",
                                 "Unknown",
                                 "InvalidArgument",
                                 "DeadlineExceeded",
                                 "NotFound",
                                 "AlreadyExists",
                                 "PermissionDenied",
                                 "ResourceExhausted",
                                 "FailedPrecondition",
                                 "Aborted",
                                 "OutOfRange",
                                 "Unimplemented",
                                 "Internal",
                                 "Unavailable",
                                 "DataLoss",
                                 "Unauthenticated"};
  const int index = static_cast<int>(code);
  return index >= 0 && index < 17 ? kNames[index] : "Unknown";
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
  return *buckets;
}

}  // namespace

CallMetrics::CallMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("RPCs started on the server.")
                   .Register(*registry_)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("RPCs completed on the server, by code.")
                   .Register(*registry_)),
      handling_(
          prometheus::BuildHistogram()
              .Name("grpc_server_handling_seconds")
              .Help("Time from the start of an RPC to its status, seconds.")
              .Register(*registry_)),
      overhead_(
          prometheus::BuildHistogram()
              .Name("voxgate_gateway_overhead_seconds")
              .Help("Time an RPC spent outside upstream requests, seconds.")
              .Register(*registry_)) {
  for (const auto& [method, type] : MethodTypes()) {
    started_.Add({{"grpc_service", kService},
                  {"grpc_method", method},
                  {"grpc_type", type}});
    for (int code = 0; code < 17; ++code) {
      handled_.Add(
          {{"grpc_service", kService},
           {"grpc_method", method},
           {"grpc_type", type},
           {"grpc_code", CodeName(static_cast<absl::StatusCode>(code))}});
    }
    handling_.Add({{"grpc_service", kService},
                   {"grpc_method", method},
                   {"grpc_type", type}},
                  LatencyBuckets());
    overhead_.Add({{"grpc_method", method}}, LatencyBuckets());
  }
}

void CallMetrics::Started(const std::string& method) {
  started_
      .Add({{"grpc_service", kService},
            {"grpc_method", method},
            {"grpc_type", MethodTypes().at(method)}})
      .Increment();
}

void CallMetrics::Handled(const std::string& method, absl::StatusCode code,
                          absl::Duration total, absl::Duration upstream) {
  const std::string& type = MethodTypes().at(method);
  handled_
      .Add({{"grpc_service", kService},
            {"grpc_method", method},
            {"grpc_type", type},
            {"grpc_code", CodeName(code)}})
      .Increment();
  handling_
      .Add({{"grpc_service", kService},
            {"grpc_method", method},
            {"grpc_type", type}},
           LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(total));
  overhead_.Add({{"grpc_method", method}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(total - upstream));
}

}  // namespace voxgate::server
