#include "tenancy/local_limiter.h"

namespace voxgate::tenancy {
namespace {

constexpr absl::Duration kMinute = absl::Seconds(60);

}  // namespace

void LocalLimiter::Check(const LimitClaim& claim, Done done) {
  absl::Status verdict;
  {
    absl::MutexLock lock(&mu_);
    verdict = CheckLocked(claim);
  }
  done(std::move(verdict));
}

absl::Status LocalLimiter::CheckLocked(const LimitClaim& claim) {
  const absl::Time now = clock_.Now();
  auto current = [](const std::map<std::string, WindowCount>& counts,
                    const std::string& tenant, int64_t window) {
    auto it = counts.find(tenant);
    return it != counts.end() && it->second.window == window ? it->second.used
                                                             : 0.0;
  };
  if (claim.tokens_per_day > 0 &&
      current(tokens_, claim.tenant, DayIndex(now)) >=
          static_cast<double>(claim.tokens_per_day)) {
    return limit_text::TokensExceeded(claim, UntilNextDay(now));
  }
  if (claim.audio_seconds_per_hour > 0 &&
      current(audio_, claim.tenant, HourIndex(now)) >=
          static_cast<double>(claim.audio_seconds_per_hour)) {
    return limit_text::AudioExceeded(claim, UntilNextHour(now));
  }
  if (claim.requests_per_minute == 0) return absl::OkStatus();
  std::deque<absl::Time>& times =
      requests_[{claim.tenant, static_cast<int>(claim.method_class)}];
  while (!times.empty() && times.front() <= now - kMinute) times.pop_front();
  if (times.size() >= claim.requests_per_minute) {
    return limit_text::RequestsExceeded(claim, times.front() + kMinute - now);
  }
  times.push_back(now);
  return absl::OkStatus();
}

void LocalLimiter::Charge(const std::string& tenant, int64_t tokens,
                          double audio_seconds) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto add = [](WindowCount& count, int64_t window, double amount) {
    if (count.window != window) count = {window, 0};
    count.used += amount;
  };
  if (tokens > 0) add(tokens_[tenant], DayIndex(now), tokens);
  if (audio_seconds > 0) add(audio_[tenant], HourIndex(now), audio_seconds);
}

}  // namespace voxgate::tenancy
