#include "tenancy/limiter.h"

#include "absl/strings/str_cat.h"
#include "common/retry_info.h"

namespace voxgate::tenancy {
namespace {

absl::Status Exceeded(const LimitClaim& claim, absl::string_view limit,
                      uint64_t value, absl::string_view unit,
                      absl::Duration retry) {
  return WithRetryDelay(
      absl::ResourceExhaustedError(absl::StrCat(
          "tenant \"", claim.tenant, "\" is over its limit ", limit, " (",
          value, " ", unit, "); retry in ",
          absl::FormatDuration(absl::Ceil(retry, absl::Milliseconds(100))))),
      retry);
}

int64_t Floor(absl::Time now, absl::Duration unit) {
  return absl::ToUnixSeconds(now) / absl::ToInt64Seconds(unit);
}

absl::Duration Until(absl::Time now, absl::Duration unit) {
  const absl::Time next = absl::FromUnixSeconds((Floor(now, unit) + 1) *
                                                absl::ToInt64Seconds(unit));
  return next - now;
}

}  // namespace

namespace limit_text {

absl::string_view ClassName(call::MethodClass method_class) {
  switch (method_class) {
    case call::MethodClass::kGeneral:
      return "general";
    case call::MethodClass::kTranscription:
      return "transcription";
    case call::MethodClass::kUnderstanding:
      return "understanding";
    case call::MethodClass::kBatch:
      return "batch";
  }
  return "general";
}

absl::Status RequestsExceeded(const LimitClaim& claim, absl::Duration retry) {
  return Exceeded(
      claim,
      absl::StrCat("requests_per_minute.", ClassName(claim.method_class)),
      claim.requests_per_minute, "requests in any 60s", retry);
}

absl::Status TokensExceeded(const LimitClaim& claim, absl::Duration retry) {
  return Exceeded(claim, "tokens_per_day", claim.tokens_per_day,
                  "tokens per UTC day", retry);
}

absl::Status AudioExceeded(const LimitClaim& claim, absl::Duration retry) {
  return Exceeded(claim, "audio_seconds_per_hour", claim.audio_seconds_per_hour,
                  "audio seconds per UTC hour", retry);
}

}  // namespace limit_text

int64_t DayIndex(absl::Time now) { return Floor(now, absl::Hours(24)); }
int64_t HourIndex(absl::Time now) { return Floor(now, absl::Hours(1)); }
absl::Duration UntilNextDay(absl::Time now) {
  return Until(now, absl::Hours(24));
}
absl::Duration UntilNextHour(absl::Time now) {
  return Until(now, absl::Hours(1));
}

}  // namespace voxgate::tenancy
