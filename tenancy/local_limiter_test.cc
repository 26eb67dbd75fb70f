#include "tenancy/local_limiter.h"

#include "common/manual_clock.h"
#include "common/retry_info.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::tenancy {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

class LocalLimiterTest : public ::testing::Test {
 protected:
  absl::Status CheckNow(const LimitClaim& claim) {
    absl::Status verdict = absl::UnknownError("not answered inline");
    limiter_.Check(claim, [&](absl::Status status) { verdict = status; });
    return verdict;
  }
  static LimitClaim Claim() {
    LimitClaim claim;
    claim.tenant = "search";
    claim.requests_per_minute = 3;
    return claim;
  }
  ManualClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  LocalLimiter limiter_{clock_};
};

TEST_F(LocalLimiterTest, AtMostNRequestsInAnySixtySeconds) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(CheckNow(Claim()), IsOk());
    clock_.Advance(absl::Seconds(10));
  }
  const absl::Status refused = CheckNow(Claim());
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("requests_per_minute.general (3")));
  // The first request leaves the window 60 s after it came: 30 s from now.
  EXPECT_EQ(RetryDelay(refused), absl::Seconds(30));
  clock_.Advance(absl::Seconds(30));
  EXPECT_THAT(CheckNow(Claim()), IsOk());
  // Other method classes and tenants have windows of their own.
  LimitClaim other = Claim();
  other.method_class = call::MethodClass::kTranscription;
  EXPECT_THAT(CheckNow(other), IsOk());
  other = Claim();
  other.tenant = "ops";
  EXPECT_THAT(CheckNow(other), IsOk());
}

TEST_F(LocalLimiterTest, TokensPerDayRefuseOnceChargedUsageReachesThem) {
  LimitClaim claim;
  claim.tenant = "search";
  claim.tokens_per_day = 100;
  EXPECT_THAT(CheckNow(claim), IsOk());
  limiter_.Charge("search", 60, 0);
  EXPECT_THAT(CheckNow(claim), IsOk());
  limiter_.Charge("search", 60, 0);
  const absl::Status refused = CheckNow(claim);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("tokens_per_day (100")));
  ASSERT_TRUE(RetryDelay(refused).has_value());
  EXPECT_LE(*RetryDelay(refused), absl::Hours(24));
  clock_.Advance(*RetryDelay(refused));  // the next UTC day
  EXPECT_THAT(CheckNow(claim), IsOk());
}

TEST_F(LocalLimiterTest, AudioSecondsPerHourRefuseUntilTheNextHour) {
  LimitClaim claim;
  claim.tenant = "search";
  claim.audio_seconds_per_hour = 60;
  limiter_.Charge("search", 0, 61.5);
  EXPECT_THAT(CheckNow(claim),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("audio_seconds_per_hour (60")));
  clock_.Advance(absl::Hours(1));
  EXPECT_THAT(CheckNow(claim), IsOk());
}

}  // namespace
}  // namespace voxgate::tenancy
