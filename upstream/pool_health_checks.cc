#include "absl/time/clock.h"
#include "upstream/pool_core.h"

namespace voxgate::upstream {

using pool_internal::EndpointState;

void PoolCore::StartHealthChecks() {
  if (options_.health_path.empty()) return;
  RunHealthChecks();
}

void PoolCore::RunHealthChecks() {
  std::vector<std::string> origins;
  uint64_t round;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    round = ++health_rounds_;
    for (const EndpointState& endpoint : endpoints_)
      origins.push_back(endpoint.origin);
    std::weak_ptr<PoolCore> weak = weak_from_this();
    health_timer_ = timers_.ScheduleAfter(options_.health_interval, [weak] {
      if (auto core = weak.lock()) core->RunHealthChecks();
    });
  }
  for (int i = 0; i < static_cast<int>(origins.size()); ++i) {
    HttpRequest probe;
    probe.method = "GET";
    probe.url = origins[i] + options_.health_path;
    probe.deadline = absl::Now() + options_.health_timeout;  // HTTP: real time
    probe.connect_timeout = options_.health_timeout;
    std::weak_ptr<PoolCore> weak = weak_from_this();
    http_.Fetch(std::move(probe), [weak, i, round](
                                      absl::StatusOr<HttpResponse> response) {
      if (auto core = weak.lock()) {
        const bool timed_out =
            !response.ok() &&
            response.status().code() == absl::StatusCode::kDeadlineExceeded;
        core->OnHealthResult(i, round,
                             response.ok() && response->status_code >= 200 &&
                                 response->status_code < 300,
                             timed_out);
      }
    });
  }
}

void PoolCore::OnHealthResult(int index, uint64_t round, bool healthy,
                              bool timed_out) {
  GrantList grants;
  {
    absl::MutexLock lock(&mu_);
    EndpointState& endpoint = endpoints_[index];
    // A check that timed out after a later one answered (a server that
    // accepted the connection before it could serve, then did) is stale.
    if (round < endpoint.health_round) return;
    // A server busy with our own requests may answer its health check late
    // (faster-whisper-server's event loop blocks while it decodes): that says
    // nothing new, and those requests' outcomes judge it (passive ejection).
    // A refused or failed check still counts.
    if (!healthy && timed_out && endpoint.outstanding > 0) return;
    endpoint.health_round = round;
    const bool recovered =
        healthy && (!endpoint.healthy || endpoint.streak > 0);
    endpoint.healthy = healthy;
    if (recovered) {
      // A passing active check vouches for the endpoint: end any ejection.
      endpoint.ejected_until = absl::InfinitePast();
      endpoint.streak = 0;
      endpoint.consecutive_failures = 0;
    }
    grants = ServeWaiters(timers_.Now());
  }
  RunGrants(std::move(grants));
}

}  // namespace voxgate::upstream
