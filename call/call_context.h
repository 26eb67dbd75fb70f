#ifndef VOXGATE_CALL_CALL_CONTEXT_H_
#define VOXGATE_CALL_CALL_CONTEXT_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "call/admission.h"
#include "call/chunk_budget.h"
#include "upstream/types.h"

namespace voxgate::call {

// Per-call facts every handler needs: request id, deadline, timings.
struct CallContext {
  std::string request_id;
  absl::Time started;
  absl::Time deadline;
  absl::Duration queue_time;
  absl::Duration preprocess_time;
  absl::Duration upstream_time;
  // Audio the call decoded (seconds) and the chunks it was cut into.
  double audio_seconds = 0;
  int chunks = 0;
  // Tokens as the upstream reported them (chat calls).
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  // The tenant admission granted the call to ("" without authentication),
  // and the grant (null without one), for checks made after admission.
  std::string tenant;
  CallGrant* grant = nullptr;
  // Hosts the tenant may fetch audio.uri from besides
  // audio.fetch.allowed_hosts (its keys file entry's fetch_allowed_hosts).
  std::vector<std::string> fetch_allowed_hosts;
  // Chunks in flight shared with other calls (a batch's files); null: the
  // call has its own limits.max_chunks_in_flight.
  std::shared_ptr<ChunkBudget> chunk_budget;

  std::shared_ptr<upstream::EndpointTrace> endpoints =
      std::make_shared<upstream::EndpointTrace>();

  upstream::CallOptions upstream_options() const {
    return {deadline, request_id, endpoints};
  }

  // Adds the tokens an upstream reported (quotas and the log line use them).
  void BookTokens(const upstream::Usage& usage) {
    prompt_tokens += usage.input_tokens;
    completion_tokens += usage.output_tokens;
    if (usage.input_tokens == 0 && usage.output_tokens == 0) {
      prompt_tokens += usage.total_tokens;  // servers that give a total only
    }
  }

  // Books an upstream request that was sent `sent`: its time waiting for a
  // pool slot as queue time, the rest as upstream time.
  void BookUpstreamRequest(absl::Time sent, absl::Time now) {
    const absl::Duration waited = endpoints->TakeSlotWait();
    queue_time += waited;
    upstream_time += now - sent - waited;
  }
};

// A call's context from what its caller sent, for every front door: the
// caller's x-request-id when it is short and printable (else a new one: 32
// hex digits), and its deadline (`default_deadline` from now when the caller
// set none, which arrives as the far future), started `now`.
CallContext NewCallContext(absl::string_view request_id, absl::Time deadline,
                           absl::Duration default_deadline, absl::Time now);

// The call's timings as the doors report them (voxgate-queue-ms,
// -preprocess-ms, -upstream-ms, -total-ms, -overhead-ms; milliseconds with
// three decimals), `total` being the call's whole time. Overhead is total
// minus upstream time.
std::vector<std::pair<std::string, std::string>> TimingFields(
    const CallContext& call, absl::Duration total);

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_CALL_CONTEXT_H_
