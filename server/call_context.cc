#include "server/call_context.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace voxgate::server {
namespace {

constexpr char kRequestIdKey[] = "x-request-id";
constexpr std::size_t kMaxRequestIdLength = 128;

std::string NewRequestId() {
  thread_local absl::BitGen random;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(random),
                         absl::Uniform<uint64_t>(random));
}

bool IsPrintable(absl::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string Millis(absl::Duration duration) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(duration));
}

}  // namespace

CallContext NewCallContext(absl::string_view request_id, absl::Time deadline,
                           absl::Duration default_deadline) {
  CallContext call;
  call.started = absl::Now();
  call.deadline = deadline;
  // No deadline arrives as the far future: without one a call against a hung
  // upstream would never end.
  if (call.deadline - call.started > absl::Hours(24 * 365)) {
    call.deadline = call.started + default_deadline;
  }
  // Ids go into upstream headers and logs: keep them short and printable.
  if (!request_id.empty() && request_id.size() <= kMaxRequestIdLength &&
      IsPrintable(request_id)) {
    call.request_id = std::string(request_id);
  } else {
    call.request_id = NewRequestId();
  }
  return call;
}

CallContext StartCall(grpc::CallbackServerContext& context,
                      absl::Duration default_deadline) {
  absl::string_view id;
  auto it = context.client_metadata().find(kRequestIdKey);
  if (it != context.client_metadata().end()) {
    id = absl::string_view(it->second.data(), it->second.size());
  }
  CallContext call = NewCallContext(id, absl::FromChrono(context.deadline()),
                                    default_deadline);
  context.AddInitialMetadata(kRequestIdKey, call.request_id);
  return call;
}

void AddTimingTrailers(grpc::CallbackServerContext& context,
                       const CallContext& call) {
  const absl::Duration total = absl::Now() - call.started;
  context.AddTrailingMetadata("voxgate-queue-ms", Millis(call.queue_time));
  context.AddTrailingMetadata("voxgate-preprocess-ms",
                              Millis(call.preprocess_time));
  context.AddTrailingMetadata("voxgate-upstream-ms",
                              Millis(call.upstream_time));
  context.AddTrailingMetadata("voxgate-total-ms", Millis(total));
  context.AddTrailingMetadata("voxgate-overhead-ms",
                              Millis(total - call.upstream_time));
}

}  // namespace voxgate::server

namespace voxgate::server {

std::optional<absl::string_view> GrpcCallerMetadata::Find(
    absl::string_view key) const {
  const auto& metadata = context_.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace voxgate::server
