#include "tenancy/redis_limiter.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/redis_connection.h"

namespace voxgate::tenancy {
namespace {

// KEYS: requests log (sorted set), tokens of the day, audio of the hour.
// ARGV: requests per minute, token limit, audio limit, a unique member.
// Returns {0, 0} admitted (and logged), {1, ms until a request leaves the
// window}, {2, 0} over tokens, {3, 0} over audio.
constexpr char kAdmitScript[] = R"lua(
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
local rpm = tonumber(ARGV[1])
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
  if redis.call('ZCARD', KEYS[1]) >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {1, tonumber(oldest[2]) + 60000 - now}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], 60000)
end
return {0, 0}
)lua";

}  // namespace

// One hiredis connection with the admit script loaded. Used by the limiter's
// thread only.
class RedisLimiter::Connection : public RedisConnection {
 public:
  // Empty on success, else what went wrong.
  std::string Open(const Options& options) {
    std::string error =
        RedisConnection::Open(options.host, options.port, options.timeout);
    if (error.empty()) sha_ = LoadScript(kAdmitScript, error);
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

void RedisLimiter::Check(const LimitClaim& claim, Done done) {
  {
    absl::MutexLock lock(&mu_);
    const bool queue_full =
        static_cast<int>(queue_.size()) >= options_.max_pending;
    // Down and not due for a reconnect: the policy answers at once instead
    // of making every call wait for a timeout.
    const bool known_down = ever_tried_ && !up_;
    if (!queue_full && !known_down && !stopping_) {
      queue_.push_back(PendingCheck{claim, std::move(done), clock_.Now()});
      return;
    }
  }
  done(PolicyVerdict(claim));
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

void RedisLimiter::SetUp(bool up, absl::string_view error) {
  bool changed;
  {
    absl::MutexLock lock(&mu_);
    changed = up != up_ || !ever_tried_;
    up_ = up;
    ever_tried_ = true;
    if (!up) next_attempt_ = clock_.Now() + options_.reconnect_interval;
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

void RedisLimiter::Run() {
  std::unique_ptr<Connection> connection;
  while (true) {
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
      if (stopping_) break;
      // Checks queued while down were answered by the policy, not queued.
      while (!queue_.empty() && batch.size() < 512) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::string error;
    if (connection == nullptr) {
      auto fresh = std::make_unique<Connection>();
      error = fresh->Open(options_);
      if (error.empty()) connection = std::move(fresh);
      SetUp(connection != nullptr, error);
    } else if (batch.empty()) {
      connection->Append({"PING"});
      if (connection->Next(error) == nullptr) {
        connection.reset();
        SetUp(false, error);
      }
      continue;
    }
    if (connection != nullptr && !batch.empty()) {
      const std::string& p = options_.key_prefix;
      for (Work& work : batch) {
        if (auto* check = std::get_if<PendingCheck>(&work)) {
          const LimitClaim& claim = check->claim;
          const std::string tenant = absl::StrCat("{", claim.tenant, "}");
          connection->Append(
              {"EVALSHA", connection->sha(), "3",
               absl::StrCat(p, tenant, ":requests:",
                            limit_text::ClassName(claim.method_class)),
               absl::StrCat(p, tenant, ":tokens:", DayIndex(check->now)),
               absl::StrCat(p, tenant, ":audio:", HourIndex(check->now)),
               absl::StrCat(claim.requests_per_minute),
               absl::StrCat(claim.tokens_per_day),
               absl::StrCat(claim.audio_seconds_per_hour),
               absl::StrCat(member_prefix_, next_member_++)});
        } else {
          auto& charge = std::get<PendingCharge>(work);
          const std::string tenant = absl::StrCat("{", charge.tenant, "}");
          const std::string tokens =
              absl::StrCat(p, tenant, ":tokens:", DayIndex(charge.now));
          const std::string audio =
              absl::StrCat(p, tenant, ":audio:", HourIndex(charge.now));
          connection->Append({"INCRBY", tokens, absl::StrCat(charge.tokens)});
          connection->Append({"EXPIRE", tokens, "90000"});
          connection->Append({"INCRBYFLOAT", audio,
                              absl::StrFormat("%.3f", charge.audio_seconds)});
          connection->Append({"EXPIRE", audio, "4000"});
        }
      }
      std::vector<absl::Status> verdicts;
      for (Work& work : batch) {
        if (!error.empty()) break;
        if (auto* check = std::get_if<PendingCheck>(&work)) {
          RedisReply reply = connection->Next(error);
          if (reply == nullptr) break;
          if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            error = "the admit script answered in an unexpected shape";
            break;
          }
          const long long outcome = reply->element[0]->integer;
          const absl::Duration retry =
              absl::Milliseconds(reply->element[1]->integer);
          const LimitClaim& claim = check->claim;
          verdicts.push_back(
              outcome == 0   ? absl::OkStatus()
              : outcome == 1 ? limit_text::RequestsExceeded(claim, retry)
              : outcome == 2
                  ? limit_text::TokensExceeded(claim, UntilNextDay(check->now))
                  : limit_text::AudioExceeded(claim,
                                              UntilNextHour(check->now)));
        } else {
          for (int i = 0; i < 4 && error.empty(); ++i) connection->Next(error);
        }
      }
      if (!error.empty()) {
        connection.reset();
        SetUp(false, error);
      }
      // Answer outside the lock: admission goes on on this thread.
      size_t answered = 0;
      for (Work& work : batch) {
        auto* check = std::get_if<PendingCheck>(&work);
        if (check == nullptr) {
          if (!error.empty()) dropped_metric_.Increment();
          continue;
        }
        check->done(answered < verdicts.size() ? std::move(verdicts[answered])
                                               : PolicyVerdict(check->claim));
        ++answered;
      }
      continue;
    }
    for (Work& work : batch) {  // no connection: the policy answers
      if (auto* check = std::get_if<PendingCheck>(&work)) {
        check->done(PolicyVerdict(check->claim));
      } else {
        dropped_metric_.Increment();
      }
    }
  }
  // Stopping: nothing is left waiting for an answer.
  std::deque<Work> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(queue_);
  }
  for (Work& work : left) {
    if (auto* check = std::get_if<PendingCheck>(&work)) {
      check->done(PolicyVerdict(check->claim));
    }
  }
}

}  // namespace voxgate::tenancy
