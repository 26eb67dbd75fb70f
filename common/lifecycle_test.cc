// The pieces every call's lifecycle is built from: CancelScope, TimerQueue on
// an injected clock, WaiterQueue.

#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/cancel_scope.h"
#include "common/manual_clock.h"
#include "common/timer_queue.h"
#include "common/waiter_queue.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

using ::testing::ElementsAre;

TEST(CancelScopeTest, CancelBeforeAttachIsAppliedWhenTheWorkIsAttached) {
  CancelScope scope;
  const CancelScope::Key key = scope.Reserve();
  scope.Cancel();
  int cancels = 0;
  scope.Attach(key, [&] { ++cancels; });
  EXPECT_EQ(cancels, 1);
  EXPECT_TRUE(scope.cancelled());
  EXPECT_EQ(scope.pending(), 0);
}

TEST(CancelScopeTest, CancelReachesEveryAttachedWorkOnce) {
  CancelScope scope;
  int first = 0, second = 0;
  scope.Attach(scope.Reserve(), [&] { ++first; });
  scope.Attach(scope.Reserve(), [&] { ++second; });
  scope.Cancel();
  scope.Cancel();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
}

TEST(CancelScopeTest, WorkThatEndedBeforeItWasAttachedIsNeverCancelled) {
  CancelScope scope;
  const CancelScope::Key key = scope.Reserve();
  scope.Done(key);  // a completion on another thread, before Attach
  int cancels = 0;
  scope.Attach(key, [&] { ++cancels; });
  scope.Cancel();
  EXPECT_EQ(cancels, 0);
  EXPECT_EQ(scope.pending(), 0);
}

TEST(CancelScopeTest, CancelFunctionsRunOutsideTheScopesLock) {
  CancelScope scope;
  const CancelScope::Key key = scope.Reserve();
  int seen_pending = -1;
  // A cancel that calls back into the scope (as a completion reporting
  // Done would) deadlocks if it runs under the lock.
  scope.Attach(key, [&] {
    scope.Done(key);
    seen_pending = scope.pending();
  });
  scope.Cancel();
  EXPECT_EQ(seen_pending, 0);
}

TEST(TimerQueueTest, TimersRunWhenTheInjectedClockReachesThem) {
  ManualClock clock;
  TimerQueue timers(clock);
  absl::Notification early_ran, late_ran;
  timers.ScheduleAfter(absl::Seconds(10), [&] { early_ran.Notify(); });
  timers.ScheduleAfter(absl::Hours(1), [&] { late_ran.Notify(); });
  // Real time passes, the clock does not: nothing runs.
  EXPECT_FALSE(
      early_ran.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  clock.Advance(absl::Seconds(10));
  early_ran.WaitForNotification();
  EXPECT_FALSE(late_ran.HasBeenNotified());
  clock.Advance(absl::Hours(1));
  late_ran.WaitForNotification();
}

TEST(TimerQueueTest, PostedCallbacksRunInOrderWithoutTheClockMoving) {
  ManualClock clock;
  TimerQueue timers(clock);
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  for (int i = 0; i < 5; ++i) {
    timers.Post([&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
      if (i == 4) done.Notify();
    });
  }
  done.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
}

TEST(TimerQueueTest, ACancelledTimerNeverRuns) {
  ManualClock clock;
  TimerQueue timers(clock);
  bool ran = false;
  const TimerQueue::TimerId id =
      timers.ScheduleAfter(absl::Seconds(1), [&] { ran = true; });
  EXPECT_TRUE(timers.Cancel(id));
  EXPECT_FALSE(timers.Cancel(id));
  absl::Notification after;
  timers.ScheduleAfter(absl::Seconds(2), [&] { after.Notify(); });
  clock.Advance(absl::Seconds(5));
  after.WaitForNotification();  // runs after the cancelled one's time
  EXPECT_FALSE(ran);
}

TEST(WaiterQueueTest, ServesInArrivalOrderAndTimesOutOnTheClock) {
  ManualClock clock;
  TimerQueue timers(clock);
  absl::Mutex mu;
  WaiterQueue<std::string> queue(timers);
  absl::Notification timed_out;
  std::string expired;
  auto on_timeout = [&](WaiterQueue<std::string>::Id id) {
    absl::MutexLock lock(&mu);
    if (auto item = queue.Take(id)) {
      expired = *item;
      timed_out.Notify();
    }
  };
  {
    absl::MutexLock lock(&mu);
    queue.Push("first", clock.Now() + absl::Seconds(30), on_timeout);
    queue.Push("second", clock.Now() + absl::Seconds(5), on_timeout);
    queue.Push("third", clock.Now() + absl::Seconds(30), on_timeout);
    EXPECT_EQ(queue.PopFront(), "first");
  }
  clock.Advance(absl::Seconds(5));
  timed_out.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(expired, "second");
  EXPECT_EQ(queue.size(), 1);
  EXPECT_EQ(queue.front(), "third");
  EXPECT_FALSE(queue.Take(12345).has_value());
}

}  // namespace
}  // namespace voxgate
