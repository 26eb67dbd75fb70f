#include "common/retry_info.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

TEST(RetryInfoTest, TheDelaySurvivesAChangeOfMessage) {
  const absl::Status limited =
      WithRetryDelay(absl::ResourceExhaustedError("requests_per_minute"),
                     absl::Milliseconds(1500));
  EXPECT_EQ(RetryDelay(limited), absl::Milliseconds(1500));
  const absl::Status shown = WithMessage(limited, "scrubbed");
  EXPECT_EQ(shown.message(), "scrubbed");
  EXPECT_EQ(RetryDelay(shown), absl::Milliseconds(1500));
  EXPECT_EQ(RetryDelay(absl::ResourceExhaustedError("no delay")), std::nullopt);
}

TEST(RetryInfoTest, RetryAfterRoundsUpToWholeSecondsOfAtLeastOne) {
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1500)), 2);
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(60)), 60);
}

}  // namespace
}  // namespace voxgate
