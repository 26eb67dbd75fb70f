#include "tenancy/redis_limiter.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/redis_connection.h"
#include "common/retry_info.h"

namespace voxgate::tenancy {
namespace {

// KEYS: requests log (sorted set), tokens of the day, audio of the hour.
// ARGV: requests per minute, token limit, audio limit, permits wanted, the
// lease's member prefix. Returns {0, granted} (the granted permits are in the
// log as <prefix>1..<prefix>granted), {1, ms until a request leaves the
// window}, {2, 0} over tokens, {3, 0} over audio.
constexpr char kLeaseScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens_limit = tonumber(ARGV[2])
if tokens_limit > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= tokens_limit then
  return {2, 0}
end
local audio_limit = tonumber(ARGV[3])
if audio_limit > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= audio_limit then
  return {3, 0}
end
local wanted = tonumber(ARGV[4])
local rpm = tonumber(ARGV[1])
if rpm <= 0 then
  return {0, wanted}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
local left = rpm - redis.call('ZCARD', KEYS[1])
if left <= 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {1, tonumber(oldest[2]) + 60000 - now}
end
local granted = math.min(wanted, math.max(1, math.floor(left / 16)))
local entries = {}
for i = 1, granted do
  entries[#entries + 1] = now
  entries[#entries + 1] = ARGV[5] .. i
end
redis.call('ZADD', KEYS[1], unpack(entries))
redis.call('PEXPIRE', KEYS[1], 60000)
return {0, granted}
)lua";

std::string LeaseKey(const LimitClaim& claim) {
  return absl::StrCat(claim.tenant, "/",
                      limit_text::ClassName(claim.method_class));
}

}  // namespace

// One hiredis connection with the lease script loaded. Used by the limiter's
// thread only.
class RedisLimiter::Connection : public RedisConnection {
 public:
  // Empty on success, else what went wrong.
  std::string Open(const Options& options) {
    std::string error =
        RedisConnection::Open(options.host, options.port, options.timeout);
    if (error.empty()) sha_ = LoadScript(kLeaseScript, error);
    return error;
  }
  const std::string& sha() const { return sha_; }

 private:
  std::string sha_;
};

RedisLimiter::RedisLimiter(Options options, Clock& clock, const Logger& logger,
                           prometheus::Registry& registry)
    : options_(std::move(options)),
      clock_(clock),
      logger_(logger),
      member_prefix_(
          absl::StrFormat("%d-%d:", getpid(), absl::ToUnixNanos(absl::Now()))),
      up_metric_(prometheus::BuildGauge()
                     .Name("voxgate_limits_store_up")
                     .Help("1 while the shared limits store (Redis) answers")
                     .Register(registry)
                     .Add({})),
      errors_metric_(prometheus::BuildCounter()
                         .Name("voxgate_limits_store_errors_total")
                         .Help("Failed connections and round trips to the "
                               "shared limits store")
                         .Register(registry)
                         .Add({})),
      policy_metric_(prometheus::BuildCounter()
                         .Name("voxgate_limits_store_policy_decisions_total")
                         .Help("Checks decided by redis.on_failure because "
                               "the shared limits store was down")
                         .Register(registry)
                         .Add({})),
      dropped_metric_(prometheus::BuildCounter()
                          .Name("voxgate_limits_store_dropped_charges_total")
                          .Help("Usage not charged: the store was down or "
                                "its queue full")
                          .Register(registry)
                          .Add({})),
      leases_metric_(prometheus::BuildCounter()
                         .Name("voxgate_limits_store_leases_total")
                         .Help("Leases of request permits granted by the "
                               "shared limits store (one round trip each)")
                         .Register(registry)
                         .Add({})) {
  thread_ = std::thread([this] { Run(); });
}

RedisLimiter::~RedisLimiter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

absl::Status RedisLimiter::PolicyVerdict(const LimitClaim& claim) {
  policy_metric_.Increment();
  if (options_.fail_open) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "the shared limits store is unreachable and redis.on_failure is "
      "closed: tenant \"",
      claim.tenant, "\" cannot be checked; retry later"));
}

std::string RedisLimiter::LogKey(const LimitClaim& claim) const {
  return absl::StrCat(options_.key_prefix, "{", claim.tenant,
                      "}:requests:", limit_text::ClassName(claim.method_class));
}

void RedisLimiter::Check(const LimitClaim& claim, Done done) {
  const absl::Time now = clock_.Now();
  bool admitted = false;
  bool overloaded = false;
  {
    absl::MutexLock lock(&mu_);
    // Down and not due for a reconnect: the policy answers at once instead
    // of making every call wait for a timeout.
    const bool known_down = ever_tried_ && !up_;
    if (!known_down && !stopping_) {
      const std::string key = LeaseKey(claim);
      Lease& lease = leases_[key];
      lease.claim = claim;
      ExpireLocked(lease, now);
      if (!lease.members.empty()) {
        // A leased permit: already counted in the shared log.
        lease.members.pop_back();
        admitted = true;
        MaybeRequestLocked(key, lease, now);
      } else if (waiting_ < options_.max_pending) {
        lease.waiting.push_back({claim, std::move(done)});
        ++waiting_;
        MaybeRequestLocked(key, lease, now);
        return;
      } else {
        // The store answers, but slower than calls come: that is overload,
        // not an outage, and the outage policy (open: admit everyone) must
        // not turn it into no limits at all.
        overloaded = true;
      }
    }
  }
  if (overloaded) {
    return done(WithRetryDelay(
        absl::ResourceExhaustedError(absl::StrCat(
            "more than redis.max_pending (", options_.max_pending,
            ") calls wait for the shared limits store; retry shortly")),
        absl::Seconds(1)));
  }
  done(admitted ? absl::OkStatus() : PolicyVerdict(claim));
}

void RedisLimiter::MaybeRequestLocked(const std::string& key, Lease& lease,
                                      absl::Time now) {
  if (lease.requested) return;
  // Ahead of need only far from the limit (big grants): near it a permit
  // fetched before a call needs it could be one another replica's call
  // needed.
  const bool low =
      lease.last_grant >= 4 &&
      static_cast<int>(lease.members.size()) * 2 <= lease.last_grant;
  if (lease.waiting.empty() && !low) return;
  if (static_cast<int>(queue_.size()) >= options_.max_pending) return;
  lease.requested = true;
  queue_.push_back(PendingLease{key, lease.claim, now});
}

void RedisLimiter::ExpireLocked(Lease& lease, absl::Time now) {
  if (lease.members.empty() || now < lease.expires) return;
  if (static_cast<int>(queue_.size()) < options_.max_pending) {
    queue_.push_back(
        PendingReturn{LogKey(lease.claim), std::move(lease.members)});
  }
  lease.members.clear();
  // Idle: the next call asks, nothing is fetched ahead for it.
  lease.last_grant = 0;
}

void RedisLimiter::DropLeasesLocked(Answers& answers) {
  for (auto& [key, lease] : leases_) {
    for (Waiting& waiting : lease.waiting) {
      answers.emplace_back(std::move(waiting.done),
                           PolicyVerdict(waiting.claim));
    }
  }
  // Unspent permits stay in the log until they leave its window.
  leases_.clear();
  waiting_ = 0;
}

void RedisLimiter::Charge(const std::string& tenant, int64_t tokens,
                          double audio_seconds) {
  if (tokens <= 0 && audio_seconds <= 0) return;
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(queue_.size()) >= options_.max_pending || stopping_) {
    dropped_metric_.Increment();
    return;
  }
  queue_.push_back(PendingCharge{tenant, tokens, audio_seconds, clock_.Now()});
}

void RedisLimiter::SetUp(bool up, absl::string_view error, Answers& answers) {
  bool changed;
  {
    absl::MutexLock lock(&mu_);
    changed = up != up_ || !ever_tried_;
    up_ = up;
    ever_tried_ = true;
    if (!up) {
      next_attempt_ = clock_.Now() + options_.reconnect_interval;
      DropLeasesLocked(answers);
    }
  }
  up_metric_.Set(up ? 1 : 0);
  if (!up) errors_metric_.Increment();
  if (!changed) return;
  const std::string address = absl::StrCat(options_.host, ":", options_.port);
  if (up) {
    logger_.Info("limits store reachable: shared limits apply",
                 {{"redis", address}});
  } else {
    logger_.Warning("limits store unreachable",
                    {{"redis", address},
                     {"error", std::string(error)},
                     {"policy", options_.fail_open ? "open" : "closed"}});
  }
}

std::string RedisLimiter::RoundTrip(Connection& connection,
                                    std::vector<Work>& batch,
                                    Answers& answers) {
  const std::string& p = options_.key_prefix;
  std::vector<std::string> prefixes;  // each lease request's members
  for (Work& work : batch) {
    if (auto* request = std::get_if<PendingLease>(&work)) {
      const LimitClaim& claim = request->claim;
      const std::string tenant = absl::StrCat("{", claim.tenant, "}");
      prefixes.push_back(absl::StrCat(member_prefix_, next_lease_++, ":"));
      connection.Append(
          {"EVALSHA", connection.sha(), "3", LogKey(claim),
           absl::StrCat(p, tenant, ":tokens:", DayIndex(request->now)),
           absl::StrCat(p, tenant, ":audio:", HourIndex(request->now)),
           absl::StrCat(claim.requests_per_minute),
           absl::StrCat(claim.tokens_per_day),
           absl::StrCat(claim.audio_seconds_per_hour),
           absl::StrCat(std::max(options_.lease_size, 1)), prefixes.back()});
    } else if (auto* charge = std::get_if<PendingCharge>(&work)) {
      const std::string tenant = absl::StrCat("{", charge->tenant, "}");
      const std::string tokens =
          absl::StrCat(p, tenant, ":tokens:", DayIndex(charge->now));
      const std::string audio =
          absl::StrCat(p, tenant, ":audio:", HourIndex(charge->now));
      connection.Append({"INCRBY", tokens, absl::StrCat(charge->tokens)});
      connection.Append({"EXPIRE", tokens, "90000"});
      connection.Append({"INCRBYFLOAT", audio,
                         absl::StrFormat("%.3f", charge->audio_seconds)});
      connection.Append({"EXPIRE", audio, "4000"});
    } else {
      auto& given_back = std::get<PendingReturn>(work);
      std::vector<std::string> command = {"ZREM", given_back.log_key};
      for (std::string& member : given_back.members) {
        command.push_back(std::move(member));
      }
      connection.Append(command);
    }
  }
  std::string error;
  size_t next_prefix = 0;
  for (Work& work : batch) {
    auto* request = std::get_if<PendingLease>(&work);
    if (request == nullptr) {
      const int replies = std::holds_alternative<PendingCharge>(work) ? 4 : 1;
      if (connection.NextOf(replies, error) != nullptr) continue;
      if (!connection.refused()) return error;
      // Redis refused this one (full, say): its usage is lost, counted, and
      // the connection and the other commands are fine.
      if (std::holds_alternative<PendingCharge>(work)) dropped_metric_.Increment();
      error.clear();
      continue;
    }
    RedisReply reply = connection.Next(error);
    // NOSCRIPT (Redis restarted) needs the reconnect that loads it again.
    if (reply == nullptr &&
        (!connection.refused() || absl::StrContains(error, "NOSCRIPT"))) {
      return error;
    }
    if (reply == nullptr) {
      // Refused (at maxmemory, say): this lease's calls get the policy's
      // verdict; the store stays up for the rest.
      ++next_prefix;
      absl::MutexLock lock(&mu_);
      Lease& lease = leases_[request->key];
      lease.requested = false;
      for (Waiting& waiting : lease.waiting) {
        answers.emplace_back(std::move(waiting.done),
                             PolicyVerdict(waiting.claim));
      }
      waiting_ -= static_cast<int>(lease.waiting.size());
      lease.waiting.clear();
      error.clear();
      continue;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      return "the lease script answered in an unexpected shape";
    }
    const long long outcome = reply->element[0]->integer;
    const long long value = reply->element[1]->integer;
    const std::string& prefix = prefixes[next_prefix++];
    const LimitClaim& claim = request->claim;
    const absl::Time now = clock_.Now();
    absl::MutexLock lock(&mu_);
    Lease& lease = leases_[request->key];
    lease.requested = false;
    if (outcome == 0) {
      leases_metric_.Increment();
      // Permits granted now; the calls waiting take theirs first.
      for (long long i = value; i >= 1; --i) {
        lease.members.push_back(absl::StrCat(prefix, i));
      }
      lease.last_grant = static_cast<int>(value);
      lease.expires = now + options_.lease_ttl;
      while (!lease.members.empty() && !lease.waiting.empty()) {
        lease.members.pop_back();
        answers.emplace_back(std::move(lease.waiting.front().done),
                             absl::OkStatus());
        lease.waiting.pop_front();
        --waiting_;
      }
      MaybeRequestLocked(request->key, lease, now);
      continue;
    }
    const absl::Status refused =
        outcome == 1
            ? limit_text::RequestsExceeded(claim, absl::Milliseconds(value))
        : outcome == 2
            ? limit_text::TokensExceeded(claim, UntilNextDay(request->now))
            : limit_text::AudioExceeded(claim, UntilNextHour(request->now));
    for (Waiting& waiting : lease.waiting) {
      answers.emplace_back(std::move(waiting.done), refused);
    }
    waiting_ -= static_cast<int>(lease.waiting.size());
    lease.waiting.clear();
  }
  return "";
}

void RedisLimiter::Run() {
  std::unique_ptr<Connection> connection;
  bool stopping = false;
  while (!stopping) {
    std::vector<Work> batch;
    {
      absl::MutexLock lock(&mu_);
      if (connection == nullptr) {
        // Reconnect when due, even without work, so the gauge recovers.
        clock_.AwaitWithDeadline(mu_, absl::Condition(&stopping_),
                                 next_attempt_);
      } else {
        // Idle, it pings every reconnect_interval, so an outage shows (gauge,
        // log line) before a call meets it.
        clock_.AwaitWithDeadline(
            mu_,
            absl::Condition(
                +[](RedisLimiter* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                  return self->stopping_ || !self->queue_.empty();
                },
                this),
            clock_.Now() + options_.reconnect_interval);
      }
      stopping = stopping_;
      // Idle leases give their permits back (so do all, when stopping).
      const absl::Time now = stopping ? absl::InfiniteFuture() : clock_.Now();
      for (auto& [key, lease] : leases_) {
        ExpireLocked(lease, now);
        // Calls left waiting when the queue was full ask again.
        if (!stopping && !lease.waiting.empty()) {
          MaybeRequestLocked(key, lease, now);
        }
      }
      while (!queue_.empty() && batch.size() < 512) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Answers answers;
    std::string error;
    if (connection == nullptr && !stopping) {
      auto fresh = std::make_unique<Connection>();
      error = fresh->Open(options_);
      if (error.empty()) connection = std::move(fresh);
      SetUp(connection != nullptr, error, answers);
    }
    if (connection != nullptr && batch.empty() && !stopping) {
      connection->Append({"PING"});
      if (connection->Next(error) == nullptr) {
        connection.reset();
        SetUp(false, error, answers);
      }
    } else if (connection != nullptr && !batch.empty()) {
      error = RoundTrip(*connection, batch, answers);
      if (!error.empty()) {
        connection.reset();
        SetUp(false, error, answers);
      }
    }
    if (connection == nullptr) {
      // Usage that could not be charged.
      for (Work& work : batch) {
        if (std::holds_alternative<PendingCharge>(work)) {
          dropped_metric_.Increment();
        }
      }
    }
    // Answer outside the lock: admission goes on on this thread.
    for (auto& [done, status] : answers) done(std::move(status));
  }
  // Stopping: nothing is left waiting for an answer.
  Answers answers;
  {
    absl::MutexLock lock(&mu_);
    DropLeasesLocked(answers);
  }
  for (auto& [done, status] : answers) done(std::move(status));
}

}  // namespace voxgate::tenancy
