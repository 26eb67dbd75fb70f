#ifndef VOXGATE_UPSTREAM_RETRYING_CALL_H_
#define VOXGATE_UPSTREAM_RETRYING_CALL_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/timer_queue.h"
#include "upstream/http_client.h"
#include "upstream/pool.h"
#include "upstream/retry_budget.h"
#include "upstream/types.h"
#include "upstream/upstream_metrics.h"

namespace voxgate::upstream {

struct RetryPolicy {
  // Attempts including the first.
  int max_attempts = 3;
  // Full-jitter exponential backoff: attempt n waits uniform(0, min(max,
  // base*2^n)).
  absl::Duration base_backoff = absl::Milliseconds(25);
  absl::Duration max_backoff = absl::Seconds(1);
};

// What a call needs from the pool it runs on.
struct PoolContext {
  Pool& pool;
  HttpClient& http;
  TimerQueue& timers;
  RetryBudget& budget;
  RetryPolicy policy;
  // Added to every request: Authorization, configured extra headers.
  HttpHeaders headers;
  // Where attempts, retries and waits are counted; none when null.
  PoolMetrics* metrics = nullptr;
  // Every attempt's HttpRequest::first_byte_timeout and stall_timeout, unless
  // the request builder set its own.
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration first_byte_timeout = absl::ZeroDuration();
  absl::Duration stall_timeout = absl::ZeroDuration();
};

// Builds the request for one attempt against an endpoint's base URL.
using RequestBuilder =
    std::function<absl::StatusOr<HttpRequest>(const std::string& url)>;

// Sends a request through `context.pool` with retries, passing the response to
// `observer` as it arrives.
//
// Retries, on another endpoint where one can serve, after connect failures,
// resets before any response byte and HTTP 429/502/503/504, with backoff
// honouring Retry-After, within the deadline and the retry budget. Once a 2xx
// status line reached the observer the call is committed and never retried. A
// final non-2xx answer reaches the observer as a response (OnDone OK);
// transport failures end in OnDone with UNAVAILABLE or DEADLINE_EXCEEDED naming
// the pool. The returned handle cancels (aborting the transfer, the queued wait
// or the backoff) and resumes a paused transfer.
//
// The observer is never called on the thread inside StartWithRetries or
// Transfer::Cancel: an end that happens there (a pool that refuses at once, a
// cancel during backoff) is reported from the timer thread, so callers may
// start and cancel while holding their own locks.
std::shared_ptr<Transfer> StartWithRetries(
    const PoolContext& context, const CallOptions& options,
    RequestBuilder build, std::shared_ptr<ResponseObserver> observer);

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_RETRYING_CALL_H_
