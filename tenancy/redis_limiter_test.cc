// The Redis limiter against a real redis-server on loopback (Debian's
// /usr/bin/redis-server, started here; posix_spawn does not search PATH),
// with a manual clock for lease expiry: exact counts near a limit, leases far
// from it, unspent permits given back, and the outage policy. Runs under
// ASan with the rest of the C++ tests.

#include "tenancy/redis_limiter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/manual_clock.h"
#include "common/redis_connection.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/free_port.h"
#include "tests/subprocess.h"

namespace voxgate::tenancy {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::StatusIs;

class RedisLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::FreePort();
    auto redis = testing::Subprocess::Start(
        {"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
         "127.0.0.1", "--save", "", "--appendonly", "no", "--logfile",
         "/dev/stderr"});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_.emplace(*std::move(redis));
    ASSERT_TRUE(
        redis_->WaitForLine("Ready to accept connections", absl::Seconds(30))
            .ok());
    ASSERT_EQ(client_.Open("127.0.0.1", port_, absl::Seconds(5)), "");
  }

  std::unique_ptr<RedisLimiter> NewLimiter(bool fail_open = true) {
    RedisLimiter::Options options;
    options.host = "127.0.0.1";
    options.port = port_;
    options.timeout = absl::Seconds(5);
    options.reconnect_interval = absl::Milliseconds(100);
    options.fail_open = fail_open;
    options.lease_ttl = absl::Seconds(1);
    return std::make_unique<RedisLimiter>(options, clock_, logger_, registry_);
  }

  // One check's verdict, waited for.
  static absl::Status CheckNow(RedisLimiter& limiter, const LimitClaim& claim) {
    absl::Notification answered;
    absl::Status verdict;
    limiter.Check(claim, [&](absl::Status status) {
      verdict = std::move(status);
      answered.Notify();
    });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return verdict;
  }

  int64_t Logged(const std::string& tenant) {
    std::string error;
    RedisReply reply = client_.Command(
        {"ZCARD", "voxgate:{" + tenant + "}:requests:general"}, error);
    EXPECT_NE(reply, nullptr) << error;
    return reply == nullptr ? -1 : reply->integer;
  }

  double Leases() {
    for (const auto& family : registry_.Collect()) {
      if (family.name == "voxgate_limits_store_leases_total") {
        return family.metric.at(0).counter.value;
      }
    }
    return -1;
  }

  double Counter(const std::string& name) {
    for (const auto& family : registry_.Collect()) {
      if (family.name == name) return family.metric.at(0).counter.value;
    }
    return -1;
  }

  double StoreUp() {
    for (const auto& family : registry_.Collect()) {
      if (family.name == "voxgate_limits_store_up") {
        return family.metric.at(0).gauge.value;
      }
    }
    return -1;
  }

  void Redis(const std::vector<std::string>& command) {
    std::string error;
    ASSERT_NE(client_.Command(command, error), nullptr) << error;
  }

  static LimitClaim Claim(const std::string& tenant, uint32_t per_minute) {
    LimitClaim claim;
    claim.tenant = tenant;
    claim.requests_per_minute = per_minute;
    return claim;
  }

  int port_ = 0;
  std::optional<testing::Subprocess> redis_;
  RedisConnection client_;
  ManualClock clock_;
  Logger logger_{LogLevel::kError};
  prometheus::Registry registry_;
};

TEST_F(RedisLimiterTest, NearALimitEveryCallAsksAndTheCountIsExact) {
  auto first = NewLimiter();
  auto second = NewLimiter();  // another replica, same Redis
  int admitted = 0;
  for (int i = 0; i < 12; ++i) {
    RedisLimiter& replica = i % 2 == 0 ? *first : *second;
    const absl::Status verdict = CheckNow(replica, Claim("small", 7));
    if (verdict.ok()) {
      ++admitted;
    } else {
      EXPECT_EQ(verdict.code(), absl::StatusCode::kResourceExhausted);
      EXPECT_THAT(verdict.message(), HasSubstr("small"));
    }
  }
  EXPECT_EQ(admitted, 7);
  EXPECT_EQ(Logged("small"), 7);
}

TEST_F(RedisLimiterTest, FarFromALimitCallsSpendLeasedPermits) {
  auto limiter = NewLimiter();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(CheckNow(*limiter, Claim("big", 1000000)).ok());
  }
  // 32 permits a lease: 4 to 7 round trips for 100 calls, not 100.
  EXPECT_GE(Leases(), 4);
  EXPECT_LE(Leases(), 7);
  EXPECT_GE(Logged("big"), 100);
}

TEST_F(RedisLimiterTest, UnspentPermitsGoBackAfterTheLeaseTime) {
  auto limiter = NewLimiter();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(CheckNow(*limiter, Claim("idle", 1000000)).ok());
  }
  EXPECT_EQ(Logged("idle"), 32);     // one lease, 22 permits unspent
  clock_.Advance(absl::Seconds(2));  // past lease_ttl: the next look returns
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (Logged("idle") != 10 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(Logged("idle"), 10);
  // Idle, nothing more is leased for it.
  EXPECT_EQ(Leases(), 1);
}

TEST_F(RedisLimiterTest, AStopGivesUnspentPermitsBack) {
  auto limiter = NewLimiter();
  ASSERT_TRUE(CheckNow(*limiter, Claim("stopping", 1000000)).ok());
  EXPECT_EQ(Logged("stopping"), 32);
  limiter.reset();
  EXPECT_EQ(Logged("stopping"), 1);
}

TEST_F(RedisLimiterTest, BeyondMaxPendingCallsAreRefusedNotAdmittedByPolicy) {
  // A store that accepts and never answers: every check waits on it.
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&address),
                 sizeof(address)),
            0);
  ASSERT_EQ(listen(silent, 16), 0);
  socklen_t length = sizeof(address);
  getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length);
  RedisLimiter::Options options;
  options.host = "127.0.0.1";
  options.port = ntohs(address.sin_port);
  options.timeout = absl::Seconds(2);
  options.fail_open = true;  // the policy that used to admit the overflow
  options.max_pending = 2;
  auto limiter =
      std::make_unique<RedisLimiter>(options, clock_, logger_, registry_);
  const LimitClaim claim = Claim("slow", 1000);
  std::vector<absl::Notification> answered(3);
  std::vector<absl::Status> verdicts(3);
  for (int i = 0; i < 3; ++i) {
    limiter->Check(claim, [&, i](absl::Status status) {
      verdicts[i] = std::move(status);
      answered[i].Notify();
    });
  }
  // The third is answered at once, while two wait on the store.
  ASSERT_TRUE(answered[2].HasBeenNotified());
  EXPECT_THAT(verdicts[2], StatusIs(absl::StatusCode::kResourceExhausted,
                                    HasSubstr("redis.max_pending (2)")));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(answered[i].WaitForNotificationWithTimeout(absl::Seconds(60)));
  }
  limiter.reset();
  close(silent);
}

// Redis past its maxmemory (noeviction) refuses writes such as a charge's
// INCRBY: that command fails (its usage is counted as dropped), not the
// store, so the connection stays and the limits are still Redis's answers
// (the closed policy would refuse every call if the store were taken down).
TEST_F(RedisLimiterTest, ARefusedCommandIsThatCommandsFailureNotAnOutage) {
  auto limiter = NewLimiter(/*fail_open=*/false);
  ASSERT_TRUE(CheckNow(*limiter, Claim("roomy", 1000000)).ok());
  Redis({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  Redis({"CONFIG", "SET", "maxmemory", "1"});
  limiter->Charge("full", 10, 1.5);
  // The same round trip or the next: either way after the charge.
  EXPECT_TRUE(CheckNow(*limiter, Claim("full", 1)).ok());
  EXPECT_THAT(CheckNow(*limiter, Claim("full", 1)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("requests_per_minute")));
  EXPECT_EQ(StoreUp(), 1);
  EXPECT_EQ(Counter("voxgate_limits_store_dropped_charges_total"), 1);
  Redis({"CONFIG", "SET", "maxmemory", "0"});
}

TEST_F(RedisLimiterTest, WithRedisDownThePolicyAnswersAndLeasesAreDropped) {
  auto open = NewLimiter(/*fail_open=*/true);
  auto closed = NewLimiter(/*fail_open=*/false);
  ASSERT_TRUE(CheckNow(*closed, Claim("outage", 1000000)).ok());
  ASSERT_TRUE(CheckNow(*open, Claim("outage", 1000000)).ok());
  redis_->Signal(SIGKILL);
  ASSERT_TRUE(redis_->Wait(absl::Seconds(30)).ok());
  // Each replica holds 31 leased permits; it learns of the outage at its
  // next round trip (a ping every reconnect_interval) and then drops them.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::Status verdict;
  while ((verdict = CheckNow(*closed, Claim("outage", 1000000))).ok() &&
         absl::Now() < deadline) {
    clock_.Advance(absl::Milliseconds(100));
  }
  EXPECT_EQ(verdict.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(verdict.message(), HasSubstr("redis.on_failure is closed"));
  for (int i = 0; i < 40; ++i) {
    EXPECT_TRUE(CheckNow(*open, Claim("outage", 1000000)).ok());
  }
}

}  // namespace
}  // namespace voxgate::tenancy
