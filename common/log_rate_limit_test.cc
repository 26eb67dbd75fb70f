#include "common/log_rate_limit.h"

#include "common/manual_clock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

TEST(LogRateLimitTest, LetsNLinesASecondThroughAndCountsTheRest) {
  ManualClock clock;
  LogRateLimit limit(3, clock);
  int64_t dropped = -1;
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += limit.Allow(dropped);
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(dropped, 0);
  clock.Advance(absl::Milliseconds(999));
  EXPECT_FALSE(limit.Allow(dropped));
  clock.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(limit.Allow(dropped));
  EXPECT_EQ(dropped, 998);  // the next line let through says so
  ASSERT_TRUE(limit.Allow(dropped));
  EXPECT_EQ(dropped, 0);
}

}  // namespace
}  // namespace voxgate
