#include "upstream/pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "upstream/pool_core.h"

namespace voxgate::upstream {
using pool_internal::EndpointState;
using pool_internal::Waiter;

void RunGrants(GrantList grants) {
  for (auto& [grant, lease] : grants) grant(std::move(lease));
}

bool PoolCore::AnyAvailable(absl::Time now) const {
  for (const EndpointState& endpoint : endpoints_) {
    if (Available(endpoint, now)) return true;
  }
  return false;
}

int PoolCore::WeightedDraw(const std::vector<int>& candidates) {
  int total = 0;
  for (int index : candidates) total += endpoints_[index].options.weight;
  int draw = absl::Uniform(random_, 0, total);
  for (int index : candidates) {
    draw -= endpoints_[index].options.weight;
    if (draw < 0) return index;
  }
  return candidates.back();
}

int PoolCore::Pick(absl::Time now, int avoid) {
  std::vector<int> candidates;
  for (int i = 0; i < static_cast<int>(endpoints_.size()); ++i) {
    if (HasRoom(endpoints_[i], now)) candidates.push_back(i);
  }
  if (candidates.size() > 1 && avoid >= 0) {
    candidates.erase(std::remove(candidates.begin(), candidates.end(), avoid),
                     candidates.end());
  }
  if (candidates.empty()) return -1;
  if (candidates.size() == 1) return candidates[0];
  // Power of two choices: two weighted draws, the less loaded relative to
  // weight.
  const int first = WeightedDraw(candidates);
  int second = WeightedDraw(candidates);
  for (int tries = 0; second == first && tries < 4; ++tries)
    second = WeightedDraw(candidates);
  const EndpointState& a = endpoints_[first];
  const EndpointState& b = endpoints_[second];
  return a.outstanding * b.options.weight <= b.outstanding * a.options.weight
             ? first
             : second;
}

absl::Status PoolCore::NoEndpointError(absl::Time now) const {
  int ejected = 0, unhealthy = 0;
  for (const EndpointState& endpoint : endpoints_) {
    if (!endpoint.healthy) {
      ++unhealthy;
    } else if (now < endpoint.ejected_until) {
      ++ejected;
    }
  }
  return absl::UnavailableError(
      absl::StrCat("pool ", options_.name, ": no endpoint available (", ejected,
                   " ejected after failures, ", unhealthy,
                   " failing health checks, of ", endpoints_.size(), ")"));
}

uint64_t PoolCore::Acquire(absl::Time deadline, int avoid,
                           Pool::Grant granted) {
  absl::StatusOr<Lease> result = absl::UnknownError("unset");
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = timers_.Now();
    if (deadline <= now) {
      result = absl::DeadlineExceededError(absl::StrCat(
          "pool ", options_.name, ": deadline passed before a slot was free"));
    } else if (const int index = Pick(now, avoid); index >= 0) {
      endpoints_[index].outstanding++;
      endpoints_[index].requests++;
      result = Lease(shared_from_this(), index);
    } else if (!AnyAvailable(now)) {
      result = NoEndpointError(now);
    } else if (waiters_.size() >= options_.max_queue) {
      result = absl::ResourceExhaustedError(absl::StrCat(
          "pool ", options_.name, ": every slot is busy and ", waiters_.size(),
          " requests already wait (max_queue ", options_.max_queue, ")"));
    } else {
      const absl::Time give_up =
          std::min(deadline, now + options_.queue_timeout);
      std::weak_ptr<PoolCore> weak = weak_from_this();
      return waiters_.Push({deadline, avoid, std::move(granted)}, give_up,
                           [weak](uint64_t id) {
                             if (auto core = weak.lock())
                               core->OnWaitTimeout(id);
                           });
    }
  }
  granted(std::move(result));
  return 0;
}

void PoolCore::OnWaitTimeout(uint64_t id) {
  Pool::Grant granted;
  absl::Time deadline;
  {
    absl::MutexLock lock(&mu_);
    std::optional<Waiter> waiter = waiters_.Take(id);
    if (!waiter.has_value()) return;
    granted = std::move(waiter->granted);
    deadline = waiter->deadline;
  }
  if (timers_.Now() >= deadline) {
    granted(absl::DeadlineExceededError(
        absl::StrCat("pool ", options_.name,
                     ": deadline passed while waiting for a free slot")));
  } else {
    granted(absl::ResourceExhaustedError(absl::StrCat(
        "pool ", options_.name, ": no slot freed within queue_timeout ",
        absl::FormatDuration(options_.queue_timeout))));
  }
}

void PoolCore::CancelWait(uint64_t id) {
  Pool::Grant granted;
  {
    absl::MutexLock lock(&mu_);
    std::optional<Waiter> waiter = waiters_.Take(id);
    if (!waiter.has_value()) return;
    granted = std::move(waiter->granted);
  }
  // Never on the cancelling thread: it may hold locks the grant takes.
  timers_.Post([granted = std::move(granted)] {
    granted(absl::CancelledError("request cancelled while waiting for a slot"));
  });
}

void PoolCore::RecordOutcome(EndpointState& endpoint, Outcome outcome,
                             absl::Time now) {
  switch (outcome) {
    case Outcome::kSuccess:
      endpoint.consecutive_failures = 0;
      endpoint.streak = 0;  // a probe succeeded: back in full service
      break;
    case Outcome::kFailure:
      endpoint.failures++;
      endpoint.consecutive_failures++;
      if (endpoint.streak > 0 || endpoint.consecutive_failures >=
                                     options_.consecutive_failures_to_eject) {
        endpoint.streak++;
        endpoint.ejections++;
        endpoint.consecutive_failures = 0;
        const absl::Duration length =
            std::min(options_.max_ejection,
                     options_.base_ejection *
                         (int64_t{1} << std::min(endpoint.streak - 1, 20)));
        endpoint.ejected_until = now + length;
        WakeAt(endpoint.ejected_until);
      }
      break;
    case Outcome::kNeutral:
      break;
  }
}

GrantList PoolCore::ServeWaiters(absl::Time now) {
  GrantList grants;
  if (!AnyAvailable(now)) {
    // Nothing will free up soon: fail fast rather than let them time out.
    for (Waiter& waiter : waiters_.TakeAll()) {
      grants.emplace_back(std::move(waiter.granted), NoEndpointError(now));
    }
    return grants;
  }
  while (!waiters_.empty()) {
    const int index = Pick(now, waiters_.front().avoid);
    if (index < 0) break;
    endpoints_[index].outstanding++;
    endpoints_[index].requests++;
    grants.emplace_back(waiters_.PopFront().granted,
                        Lease(shared_from_this(), index));
  }
  return grants;
}

void PoolCore::Release(int index, Outcome outcome) {
  GrantList grants;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = timers_.Now();
    EndpointState& endpoint = endpoints_[index];
    endpoint.outstanding--;
    RecordOutcome(endpoint, outcome, now);
    grants = ServeWaiters(now);
  }
  RunGrants(std::move(grants));
}

void PoolCore::WakeAt(absl::Time when) {
  // When an ejection ends, a waiter may be served by the probe slot.
  std::weak_ptr<PoolCore> weak = weak_from_this();
  timers_.Schedule(when, [weak] {
    auto core = weak.lock();
    if (core == nullptr) return;
    GrantList grants;
    {
      absl::MutexLock lock(&core->mu_);
      if (!core->waiters_.empty())
        grants = core->ServeWaiters(core->timers_.Now());
    }
    RunGrants(std::move(grants));
  });
}

std::vector<EndpointSnapshot> PoolCore::Snapshot() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = timers_.Now();
  std::vector<EndpointSnapshot> snapshot;
  for (const EndpointState& endpoint : endpoints_) {
    snapshot.push_back({endpoint.options.url, endpoint.outstanding,
                        now < endpoint.ejected_until, endpoint.healthy,
                        endpoint.ejections, endpoint.requests,
                        endpoint.failures});
  }
  return snapshot;
}

void PoolCore::Stop() {
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // the timers may be gone by the second time
    stopping_ = true;
    timers_.Cancel(health_timer_);
    waiters = waiters_.TakeAll();
  }
  for (Waiter& waiter : waiters) {
    waiter.granted(absl::CancelledError("pool shutting down"));
  }
}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release(Outcome::kNeutral);
    pool_ = std::move(other.pool_);
    endpoint_ = other.endpoint_;
  }
  return *this;
}

const std::string& Lease::url() const { return pool_->url(endpoint_); }

void Lease::Release(Outcome outcome) {
  if (pool_ == nullptr) return;
  std::shared_ptr<PoolCore> pool = std::move(pool_);
  pool->Release(endpoint_, outcome);
}

std::unique_ptr<Pool> Pool::Create(PoolOptions options, HttpClient& http,
                                   TimerQueue& timers) {
  auto core = std::make_shared<PoolCore>(std::move(options), http, timers);
  core->StartHealthChecks();
  return std::unique_ptr<Pool>(new Pool(std::move(core)));
}

Pool::~Pool() { core_->Stop(); }

const std::string& Pool::name() const { return core_->options().name; }

uint64_t Pool::Acquire(absl::Time deadline, int avoid, Grant granted) {
  return core_->Acquire(deadline, avoid, std::move(granted));
}

void Pool::CancelWait(uint64_t id) { core_->CancelWait(id); }

void Pool::Shutdown() { core_->Stop(); }

bool Pool::HasAvailableEndpoint() const {
  return core_->HasAvailableEndpoint();
}

std::vector<EndpointSnapshot> Pool::Snapshot() const {
  return core_->Snapshot();
}

}  // namespace voxgate::upstream
