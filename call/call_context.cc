#include "call/call_context.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace voxgate::call {
namespace {

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
                           absl::Duration default_deadline, absl::Time now) {
  CallContext call;
  call.started = now;
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

std::vector<std::pair<std::string, std::string>> TimingFields(
    const CallContext& call, absl::Duration total) {
  return {{"voxgate-queue-ms", Millis(call.queue_time)},
          {"voxgate-preprocess-ms", Millis(call.preprocess_time)},
          {"voxgate-upstream-ms", Millis(call.upstream_time)},
          {"voxgate-total-ms", Millis(total)},
          {"voxgate-overhead-ms", Millis(total - call.upstream_time)}};
}

}  // namespace voxgate::call
