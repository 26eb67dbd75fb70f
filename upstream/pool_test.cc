// Pools, balancing, ejection, health checks and retries against fake upstreams
// on real loopback sockets.

#include "upstream/pool.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/manual_clock.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fake_upstream/fake_upstream.h"
#include "tests/free_port.h"
#include "upstream/retrying_call.h"

namespace voxgate::upstream {
namespace {

using ::testing::AllOf;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Le;
using ::voxgate::testing::FakeBehavior;
using ::voxgate::testing::FakeRequest;
using ::voxgate::testing::FakeUpstream;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

// A loopback URL nobody listens on.
std::string DeadUrl() {
  return absl::StrCat("http://127.0.0.1:", voxgate::testing::FreePort(), "/v1");
}

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto http = HttpClient::Create();
    ASSERT_THAT(http, IsOk());
    http_ = std::move(*http);
  }

  std::unique_ptr<FakeUpstream> StartFake() {
    auto fake = FakeUpstream::Start();
    EXPECT_THAT(fake, IsOk());
    return std::move(*fake);
  }

  void MakePool(PoolOptions options, RetryPolicy policy = {}) {
    options.name = "test";
    pool_ = Pool::Create(std::move(options), *http_, timers_);
    context_ = std::make_unique<PoolContext>(PoolContext{
        *pool_, *http_, timers_, budget_, policy, {{"x-pool", "test"}}});
  }

  // One GET /v1/models through the pool with retries; waits for the result.
  absl::StatusOr<HttpResponse> Call(
      absl::Duration timeout = absl::Seconds(10)) {
    absl::StatusOr<HttpResponse> result = absl::UnknownError("no answer");
    absl::Notification done;
    CallAsync(timeout, [&](absl::StatusOr<HttpResponse> response) {
      result = std::move(response);
      done.Notify();
    });
    EXPECT_TRUE(
        done.WaitForNotificationWithTimeout(timeout + absl::Seconds(10)));
    return result;
  }

  std::shared_ptr<Transfer> CallAsync(
      absl::Duration timeout,
      std::function<void(absl::StatusOr<HttpResponse>)> done) {
    CallOptions options;
    options.deadline = absl::Now() + timeout;
    options.request_id = "rid-1";
    return StartWithRetries(
        *context_, options,
        [](const std::string& url) -> absl::StatusOr<HttpRequest> {
          return ModelsRequest(url);
        },
        MakeBufferingObserver(std::move(done)));
  }

  static HttpRequest ModelsRequest(const std::string& url) {
    HttpRequest request;
    request.method = "GET";
    request.url = url + "/models";
    return request;
  }

  TimerQueue timers_;
  RetryBudget budget_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Pool> pool_;
  std::unique_ptr<PoolContext> context_;
};

TEST_F(PoolTest, OneDeadEndpointOfTwoCostsNoRequestAndIsEjectedThenProbed) {
  auto live = StartFake();
  PoolOptions options;
  options.endpoints = {{DeadUrl(), 1, 64}, {live->base_url(), 1, 64}};
  options.base_ejection = absl::Milliseconds(100);
  MakePool(options);

  constexpr int kRequests = 1000;
  std::atomic<int> failures{0};
  absl::BlockingCounter remaining(kRequests);
  // 50 callers at a time, so ejection, probes and retries interleave.
  for (int wave = 0; wave < kRequests / 50; ++wave) {
    absl::BlockingCounter wave_done(50);
    for (int i = 0; i < 50; ++i) {
      CallAsync(absl::Seconds(10), [&](absl::StatusOr<HttpResponse> response) {
        if (!response.ok() || response->status_code != 200) failures++;
        wave_done.DecrementCount();
        remaining.DecrementCount();
      });
    }
    wave_done.Wait();
    absl::SleepFor(
        absl::Milliseconds(5));  // spread the run over several ejections
  }
  remaining.Wait();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(live->Requests().size(), static_cast<std::size_t>(kRequests));
  const std::vector<EndpointSnapshot> snapshot = pool_->Snapshot();
  // Ejected, probed after the ejection ended, failed the probe, ejected again.
  EXPECT_GE(snapshot[0].ejections, 2);
  EXPECT_GE(snapshot[0].requests, snapshot[0].ejections);
  EXPECT_LT(snapshot[0].requests, 100);
  EXPECT_EQ(snapshot[1].ejections, 0);
  for (const FakeRequest& request : live->Requests()) {
    EXPECT_EQ(request.wire.Header("x-request-id"), "rid-1");
    EXPECT_EQ(request.wire.Header("x-pool"), "test");
  }
}

TEST_F(PoolTest, TooManyRequestsWithRetryAfterWaitsThenSucceeds) {
  auto fake = StartFake();
  FakeBehavior throttled;
  throttled.status = 429;
  throttled.retry_after_seconds = 1;
  fake->Script("/v1/models", throttled, 1);
  PoolOptions options;
  options.endpoints = {{fake->base_url(), 1, 4}};
  MakePool(options);
  const absl::Time start = absl::Now();
  auto response = Call();
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 200);
  EXPECT_GE(absl::Now() - start, absl::Seconds(1));
  ASSERT_EQ(fake->Requests().size(), 2u);
  EXPECT_GE(fake->Requests()[1].received - fake->Requests()[0].finished,
            absl::Seconds(1));
}

TEST_F(PoolTest, RetryAfterBeyondTheDeadlineGivesUpAtOnce) {
  auto fake = StartFake();
  FakeBehavior throttled;
  throttled.status = 429;
  throttled.retry_after_seconds = 30;
  fake->SetDefault(throttled);
  PoolOptions options;
  options.endpoints = {{fake->base_url(), 1, 4}};
  MakePool(options);
  const absl::Time start = absl::Now();
  auto response = Call(absl::Seconds(2));
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status_code, 429);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(fake->Requests().size(), 1u);
}

TEST_F(PoolTest, RetryBudgetStopsARetryStormWhenEverythingFails) {
  auto first = StartFake();
  auto second = StartFake();
  FakeBehavior down;
  down.status = 503;
  first->SetDefault(down);
  second->SetDefault(down);
  PoolOptions options;
  options.endpoints = {{first->base_url(), 1, 64}, {second->base_url(), 1, 64}};
  options.consecutive_failures_to_eject = 1000000;  // keep both in play
  MakePool(options,
           RetryPolicy{5, absl::Milliseconds(1), absl::Milliseconds(2)});

  constexpr int kRequests = 300;
  for (int i = 0; i < kRequests; ++i) {
    auto response = Call();
    ASSERT_THAT(response, IsOk());
    EXPECT_EQ(response->status_code, 503);
  }
  const std::size_t attempts =
      first->Requests().size() + second->Requests().size();
  // Without a budget: 5 attempts each = 1500. With it: 300 + 20% + 10 initial.
  EXPECT_LE(attempts, static_cast<std::size_t>(kRequests * 1.2 + 10 + 1));
  EXPECT_GT(attempts, static_cast<std::size_t>(kRequests));
}

TEST_F(PoolTest, DeadlineShorterThanLatencyIsDeadlineExceededOnTime) {
  auto fake = StartFake();
  FakeBehavior slow;
  slow.latency = absl::Seconds(3);
  fake->SetDefault(slow);
  PoolOptions options;
  options.endpoints = {{fake->base_url(), 1, 4}};
  MakePool(options);
  const absl::Time start = absl::Now();
  EXPECT_THAT(
      Call(absl::Milliseconds(300)),
      StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("pool test")));
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(350));
}

TEST_F(PoolTest, ConcurrencyCapQueuesTheRestAndAFullQueueRefuses) {
  auto fake = StartFake();
  FakeBehavior slow;
  slow.latency = absl::Milliseconds(300);
  fake->SetDefault(slow);
  PoolOptions options;
  options.endpoints = {{fake->base_url(), 1, 2}};
  options.max_queue = 3;
  MakePool(options);

  std::vector<absl::StatusOr<HttpResponse>> results(6, absl::UnknownError(""));
  absl::BlockingCounter done(6);
  for (int i = 0; i < 6; ++i) {
    CallAsync(absl::Seconds(10), [&, i](absl::StatusOr<HttpResponse> response) {
      results[i] = std::move(response);
      done.DecrementCount();
    });
  }
  done.Wait();
  EXPECT_EQ(fake->max_in_flight(), 2);
  int ok = 0;
  for (const auto& result : results) ok += result.ok() ? 1 : 0;
  EXPECT_EQ(ok, 5);  // 2 at once + 3 queued
  EXPECT_THAT(results[5], StatusIs(absl::StatusCode::kResourceExhausted,
                                   HasSubstr("max_queue 3")));
}

TEST_F(PoolTest, QueueTimeoutIsResourceExhausted) {
  auto fake = StartFake();
  FakeBehavior slow;
  slow.latency = absl::Seconds(2);
  fake->SetDefault(slow);
  PoolOptions options;
  options.endpoints = {{fake->base_url(), 1, 1}};
  options.queue_timeout = absl::Milliseconds(100);
  MakePool(options);
  absl::Notification first_done;
  CallAsync(absl::Seconds(10),
            [&](absl::StatusOr<HttpResponse>) { first_done.Notify(); });
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kResourceExhausted,
                               HasSubstr("queue_timeout")));
  first_done.WaitForNotification();
}

// The pool's own timing on a clock the test drives: no request is sent, so
// slots are taken and given back by hand.
class PoolClockTest : public ::testing::Test {
 protected:
  void SetUp() override { http_ = std::move(HttpClient::Create().value()); }
  // Acquires and keeps the answer; `answered` tells when it came.
  struct Waiting {
    absl::Notification answered;
    absl::StatusOr<Lease> lease = absl::UnknownError("unanswered");
    std::thread::id thread;
  };
  uint64_t Acquire(Pool& pool, Waiting& waiting) {
    return pool.Acquire(clock_.Now() + absl::Hours(1), -1,
                        [&waiting](absl::StatusOr<Lease> lease) {
                          waiting.lease = std::move(lease);
                          waiting.thread = std::this_thread::get_id();
                          waiting.answered.Notify();
                        });
  }
  // Returns once every timer due by the clock's now has run: they run in
  // time order on the timer thread, so a timer due now runs after them. A
  // "not yet" is then a fact, not a wait that guesses.
  void Settle() {
    absl::Notification settled;
    timers_.Schedule(clock_.Now(), [&settled] { settled.Notify(); });
    settled.WaitForNotification();
  }
  ManualClock clock_;
  TimerQueue timers_{clock_};
  std::unique_ptr<HttpClient> http_;
};

TEST_F(PoolClockTest, AQueuedRequestGivesUpAtTheQueueTimeout) {
  PoolOptions options;
  options.name = "p";
  options.endpoints = {{"http://127.0.0.1:9/v1", 1, 1}};
  options.queue_timeout = absl::Seconds(10);
  auto pool = Pool::Create(options, *http_, timers_);
  Waiting first, second;
  Acquire(*pool, first);
  ASSERT_TRUE(first.answered.HasBeenNotified());  // a free slot: at once
  ASSERT_TRUE(first.lease.ok());
  Acquire(*pool, second);
  clock_.Advance(absl::Seconds(9));
  Settle();
  EXPECT_FALSE(second.answered.HasBeenNotified());
  clock_.Advance(absl::Seconds(1));
  second.answered.WaitForNotification();
  EXPECT_THAT(second.lease, StatusIs(absl::StatusCode::kResourceExhausted,
                                     HasSubstr("queue_timeout 10s")));
}

TEST_F(PoolClockTest, WithoutAQueueTimeoutARequestWaitsUpToItsDeadline) {
  PoolOptions options;  // queue_timeout unset: the default
  options.name = "p";
  options.endpoints = {{"http://127.0.0.1:9/v1", 1, 1}};
  auto pool = Pool::Create(options, *http_, timers_);
  Waiting held, late, freed;
  Acquire(*pool, held);
  ASSERT_TRUE(held.lease.ok());
  // Two waiters: one whose deadline comes in 30 minutes, one an hour away.
  pool->Acquire(clock_.Now() + absl::Minutes(30), -1,
                [&late](absl::StatusOr<Lease> lease) {
                  late.lease = std::move(lease);
                  late.answered.Notify();
                });
  Acquire(*pool, freed);
  clock_.Advance(absl::Minutes(29));
  Settle();
  EXPECT_FALSE(late.answered.HasBeenNotified());
  clock_.Advance(absl::Minutes(1));
  late.answered.WaitForNotification();
  EXPECT_THAT(late.lease, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                   HasSubstr("deadline passed")));
  // The other still waits, and gets the slot when it frees.
  EXPECT_FALSE(freed.answered.HasBeenNotified());
  held.lease->Release(Outcome::kSuccess);
  freed.answered.WaitForNotification();
  EXPECT_TRUE(freed.lease.ok());
}

TEST_F(PoolClockTest, ACancelledWaitIsAnsweredOnAnotherThread) {
  PoolOptions options;
  options.name = "p";
  options.endpoints = {{"http://127.0.0.1:9/v1", 1, 1}};
  auto pool = Pool::Create(options, *http_, timers_);
  Waiting held, waiting;
  Acquire(*pool, held);
  const uint64_t id = Acquire(*pool, waiting);
  ASSERT_NE(id, 0u);
  pool->CancelWait(id);
  waiting.answered.WaitForNotification();
  EXPECT_THAT(waiting.lease,
              StatusIs(absl::StatusCode::kCancelled,
                       HasSubstr("cancelled while waiting for a slot")));
  // Not on the cancelling thread, which may hold locks the grant takes.
  EXPECT_NE(waiting.thread, std::this_thread::get_id());
}

TEST_F(PoolClockTest, AnEjectedEndpointReturnsWhenItsEjectionEnds) {
  PoolOptions options;
  options.name = "p";
  options.endpoints = {{"http://127.0.0.1:9/v1", 1, 8}};
  options.consecutive_failures_to_eject = 2;
  options.base_ejection = absl::Seconds(30);
  auto pool = Pool::Create(options, *http_, timers_);
  for (int i = 0; i < 2; ++i) {
    Waiting attempt;
    Acquire(*pool, attempt);
    ASSERT_TRUE(attempt.lease.ok());
    attempt.lease->Release(Outcome::kFailure);
  }
  EXPECT_FALSE(pool->HasAvailableEndpoint());
  Waiting refused;
  Acquire(*pool, refused);
  EXPECT_THAT(refused.lease,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("1 ejected")));
  clock_.Advance(absl::Seconds(30));
  EXPECT_TRUE(pool->HasAvailableEndpoint());
  Waiting probe;
  Acquire(*pool, probe);
  EXPECT_TRUE(probe.lease.ok());
}

TEST_F(PoolTest, WeightsShareTheLoad) {
  auto light = StartFake();
  auto heavy = StartFake();
  PoolOptions options;
  options.endpoints = {{light->base_url(), 1, 8}, {heavy->base_url(), 3, 8}};
  MakePool(options);
  for (int i = 0; i < 800; ++i) ASSERT_THAT(Call(), IsOk());
  const double share = static_cast<double>(heavy->Requests().size()) / 800;
  EXPECT_THAT(share, AllOf(Ge(0.68), Le(0.82)));
}

TEST_F(PoolTest, LeastOutstandingSendsMostWorkToTheFasterEndpoint) {
  auto slow = StartFake();
  auto fast = StartFake();
  FakeBehavior sluggish;
  sluggish.latency = absl::Milliseconds(100);
  slow->SetDefault(sluggish);
  PoolOptions options;
  options.endpoints = {{slow->base_url(), 1, 64}, {fast->base_url(), 1, 64}};
  MakePool(options);
  absl::BlockingCounter done(200);
  for (int i = 0; i < 200; ++i) {
    CallAsync(absl::Seconds(10),
              [&](absl::StatusOr<HttpResponse>) { done.DecrementCount(); });
    absl::SleepFor(absl::Milliseconds(2));
  }
  done.Wait();
  EXPECT_GT(fast->Requests().size(), 2 * slow->Requests().size());
}

// Polls `condition` for up to five seconds.
bool Eventually(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST_F(PoolTest,
       FailingHealthChecksTakeAnEndpointOutAndPassingOnesBringItBack) {
  auto sick = StartFake();
  auto well = StartFake();
  FakeBehavior unhealthy;
  unhealthy.status = 503;
  sick->Script("/health", unhealthy, 1000000);
  PoolOptions options;
  options.endpoints = {{sick->base_url(), 1, 8}, {well->base_url(), 1, 8}};
  options.health_path = "/health";
  options.health_interval = absl::Milliseconds(50);
  MakePool(options);
  ASSERT_TRUE(Eventually([&] { return !pool_->Snapshot()[0].healthy; }));
  for (int i = 0; i < 50; ++i) ASSERT_THAT(Call(), IsOk());
  EXPECT_TRUE(sick->Requests("/v1").empty());
  EXPECT_EQ(well->Requests("/v1").size(), 50u);

  sick->ClearScripts();
  ASSERT_TRUE(Eventually([&] { return pool_->Snapshot()[0].healthy; }));
  for (int i = 0; i < 50; ++i) ASSERT_THAT(Call(), IsOk());
  EXPECT_FALSE(sick->Requests("/v1").empty());
}

// A server busy with our requests (faster-whisper-server blocks while it
// decodes) answers health checks late: that does not take it out while it
// serves; once idle, late answers do.
TEST_F(PoolTest, HealthCheckTimeoutsOfABusyEndpointDoNotTakeItOut) {
  auto busy = StartFake();
  FakeBehavior slow;
  slow.latency = absl::Seconds(2);
  busy->Script("/health", slow, 1000000);
  PoolOptions options;
  options.endpoints = {{busy->base_url(), 1, 4}};
  options.health_path = "/health";
  options.health_interval = absl::Milliseconds(50);
  options.health_timeout = absl::Milliseconds(100);
  MakePool(options);
  // A request in flight on it: a held slot.
  absl::Notification granted;
  absl::StatusOr<Lease> lease = absl::UnknownError("none");
  pool_->Acquire(absl::Now() + absl::Minutes(1), -1,
                 [&](absl::StatusOr<Lease> got) {
                   lease = std::move(got);
                   granted.Notify();
                 });
  granted.WaitForNotification();
  ASSERT_TRUE(lease.ok());
  // Three checks timed out (each is recorded when the pool gives up on it).
  ASSERT_TRUE(busy->WaitUntil(
      [](const std::vector<FakeRequest>& requests) {
        return std::count_if(requests.begin(), requests.end(),
                             [](const FakeRequest& r) {
                               return r.wire.path == "/health";
                             }) >= 3;
      },
      absl::Seconds(30)));
  EXPECT_TRUE(pool_->Snapshot()[0].healthy);
  EXPECT_TRUE(pool_->HasAvailableEndpoint());

  lease->Release(Outcome::kSuccess);
  EXPECT_TRUE(Eventually([&] { return !pool_->Snapshot()[0].healthy; }));
}

// A server that accepted the first check's connection before it could serve
// (llama-server loading its model) answers later checks first: the first
// one's timeout, arriving after them, is stale and must not take it out.
TEST_F(PoolTest, AStaleHealthCheckDoesNotUndoALaterOne) {
  auto starting = StartFake();
  FakeBehavior hung;
  hung.latency = absl::Seconds(5);
  starting->Script("/health", hung, 1);  // the first check only
  PoolOptions options;
  options.endpoints = {{starting->base_url(), 1, 4}};
  options.health_path = "/health";
  options.health_interval = absl::Milliseconds(300);
  options.health_timeout = absl::Seconds(1);
  MakePool(options);
  // Until the pool has given up on the first check and a check after that
  // has answered: healthy all along.
  const auto stale_then_fresh = [&] {
    absl::Time given_up = absl::InfiniteFuture();
    bool fresh = false;
    for (const FakeRequest& request : starting->Requests("/health")) {
      if (request.client_closed_early) given_up = request.finished;
    }
    for (const FakeRequest& request : starting->Requests("/health")) {
      fresh |= request.received > given_up;
    }
    return fresh;
  };
  bool always_healthy = true;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!stale_then_fresh() && absl::Now() < deadline) {
    always_healthy &= pool_->Snapshot()[0].healthy;
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_TRUE(stale_then_fresh());
  EXPECT_TRUE(always_healthy);
  EXPECT_TRUE(pool_->Snapshot()[0].healthy);
}

TEST_F(PoolTest, NoEndpointAvailableIsUnavailableNamingWhy) {
  PoolOptions options;
  options.endpoints = {{DeadUrl(), 1, 4}};
  options.consecutive_failures_to_eject = 1;
  options.base_ejection = absl::Seconds(30);
  MakePool(options, RetryPolicy{1});
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("cannot connect")));
  EXPECT_FALSE(pool_->HasAvailableEndpoint());
  EXPECT_THAT(
      Call(),
      StatusIs(absl::StatusCode::kUnavailable,
               HasSubstr("pool test: no endpoint available (1 ejected")));
}

TEST_F(PoolTest, CancelWhileQueuedEndsTheCallAndFreesItsPlace) {
  auto fake = StartFake();
  FakeBehavior slow;
  slow.latency = absl::Milliseconds(500);
  fake->SetDefault(slow);
  PoolOptions options;
  options.endpoints = {{fake->base_url(), 1, 1}};
  MakePool(options);
  absl::Notification first_done, second_done;
  absl::Status second_status;
  CallAsync(absl::Seconds(10),
            [&](absl::StatusOr<HttpResponse>) { first_done.Notify(); });
  auto second =
      CallAsync(absl::Seconds(10), [&](absl::StatusOr<HttpResponse> response) {
        second_status = response.status();
        second_done.Notify();
      });
  second->Cancel();
  ASSERT_TRUE(second_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(second_status.code(), absl::StatusCode::kCancelled);
  first_done.WaitForNotification();
  EXPECT_EQ(fake->Requests().size(), 1u);
}

TEST_F(PoolTest, NoRetryAfterTheResponseStarted) {
  auto fake = StartFake();
  FakeBehavior cut;
  cut.reset_after_body_bytes = 5;
  fake->SetDefault(cut);
  PoolOptions options;
  options.endpoints = {{fake->base_url(), 1, 4}};
  MakePool(options);
  EXPECT_THAT(Call(), StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("mid-response")));
  EXPECT_EQ(fake->Requests().size(), 1u);
}

}  // namespace
}  // namespace voxgate::upstream
