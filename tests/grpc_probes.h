#ifndef VOXGATE_TESTS_GRPC_PROBES_H_
#define VOXGATE_TESTS_GRPC_PROBES_H_

// Clients of the standard gRPC services, as Kubernetes probes and grpcurl use
// them.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace voxgate::testing {

// grpc.health.v1.Health/Check for `service` ("" for the whole server). Returns
// "SERVING", "NOT_SERVING", ... or the call's error.
absl::StatusOr<std::string> CheckHealth(grpc::Channel& channel,
                                        const std::string& service);

// A service as server reflection describes it.
struct ReflectedService {
  std::string name;
  std::vector<std::string> methods;
};

// Lists services through grpc.reflection.v1alpha and resolves each one's
// methods from the file descriptors the server sends, as grpcurl does.
absl::StatusOr<std::vector<ReflectedService>> ListServicesByReflection(
    grpc::Channel& channel);

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_GRPC_PROBES_H_
