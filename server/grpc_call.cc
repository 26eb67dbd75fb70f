#include "server/grpc_call.h"

#include "common/retry_info.h"

namespace voxgate::server {
namespace {

constexpr char kRequestIdKey[] = "x-request-id";

}  // namespace

absl::string_view RequestIdOf(const grpc::CallbackServerContext& context) {
  auto it = context.client_metadata().find(kRequestIdKey);
  if (it == context.client_metadata().end()) return "";
  return absl::string_view(it->second.data(), it->second.size());
}

void AddEndTrailers(
    grpc::CallbackServerContext& context,
    const std::vector<std::pair<std::string, std::string>>& timing,
    const absl::Status& status) {
  for (const auto& [key, value] : timing) {
    context.AddTrailingMetadata(key, value);
  }
  if (const std::optional<absl::Duration> delay = RetryDelay(status)) {
    context.AddTrailingMetadata("retry-after",
                                std::to_string(RetryAfterSeconds(*delay)));
  }
}

std::optional<absl::string_view> GrpcCallerMetadata::Find(
    absl::string_view key) const {
  const auto& metadata = context_.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace voxgate::server
