#ifndef VOXGATE_SERVER_GRPC_CALL_H_
#define VOXGATE_SERVER_GRPC_CALL_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "call/admission.h"

namespace voxgate::server {

// The caller's x-request-id, or "".
absl::string_view RequestIdOf(const grpc::CallbackServerContext& context);

// The caller's gRPC metadata, for admission checks. Borrows the context.
class GrpcCallerMetadata final : public call::CallerMetadata {
 public:
  explicit GrpcCallerMetadata(const grpc::CallbackServerContext& context)
      : context_(context) {}
  std::optional<absl::string_view> Find(absl::string_view key) const override;

 private:
  const grpc::CallbackServerContext& context_;
};

// Adds the call's timing as trailing metadata, and retry-after when
// `status` carries a retry delay. Call once, before Finish.
void AddEndTrailers(
    grpc::CallbackServerContext& context,
    const std::vector<std::pair<std::string, std::string>>& timing,
    const absl::Status& status);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_GRPC_CALL_H_
