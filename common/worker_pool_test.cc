#include "common/worker_pool.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

TEST(WorkerPoolTest, RunsJobsAndRefusesBeyondTheQueue) {
  WorkerPool pool(1, 2);
  absl::Notification release;
  absl::BlockingCounter done(3);
  absl::Notification taken;
  ASSERT_THAT(pool.TrySubmit([&] {
    taken.Notify();
    release.WaitForNotification();
    done.DecrementCount();
  }),
              IsOk());
  taken.WaitForNotification();  // the worker holds the first job
  ASSERT_THAT(pool.TrySubmit([&] { done.DecrementCount(); }), IsOk());
  ASSERT_THAT(pool.TrySubmit([&] { done.DecrementCount(); }), IsOk());
  EXPECT_THAT(pool.TrySubmit([] {}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("audio.worker_queue")));
  release.Notify();
  done.Wait();
}

TEST(WorkerPoolTest, RealTimeJobsSkipTheQueueAndItsLimit) {
  WorkerPool pool(1, 1);
  absl::Notification release;
  absl::BlockingCounter ran(3);
  absl::Mutex mu;
  std::vector<std::string> order;
  auto record = [&](std::string name) {
    absl::MutexLock lock(&mu);
    order.push_back(std::move(name));
    ran.DecrementCount();
  };
  absl::Notification taken;
  ASSERT_THAT(pool.TrySubmit([&] {
    taken.Notify();
    release.WaitForNotification();
  }),
              IsOk());
  taken.WaitForNotification();
  ASSERT_THAT(pool.TrySubmit([&] { record("batch"); }), IsOk());
  // The queue is full for batch jobs, not for real-time ones, which go first.
  ASSERT_THAT(pool.TrySubmit([] {}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("audio worker queue is full")));
  ASSERT_THAT(pool.SubmitRealTime([&] { record("stream 1"); }), IsOk());
  ASSERT_THAT(pool.SubmitRealTime([&] { record("stream 2"); }), IsOk());
  EXPECT_EQ(pool.queued(), 3);
  release.Notify();
  ran.Wait();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<std::string>{"stream 1", "stream 2", "batch"}));
}

TEST(WorkerPoolTest, ABusyRealTimeLaneStillLetsBatchJobsThrough) {
  WorkerPool pool(1, 1);
  absl::Notification release;
  absl::BlockingCounter ran(9);
  absl::Mutex mu;
  std::vector<std::string> order;
  auto record = [&](std::string name) {
    absl::MutexLock lock(&mu);
    order.push_back(std::move(name));
    ran.DecrementCount();
  };
  absl::Notification taken;
  ASSERT_THAT(pool.TrySubmit([&] {
    taken.Notify();
    release.WaitForNotification();
  }),
              IsOk());
  taken.WaitForNotification();
  ASSERT_THAT(pool.TrySubmit([&] { record("batch"); }), IsOk());
  for (int i = 0; i < 8; ++i) {
    ASSERT_THAT(pool.SubmitRealTime([&] { record("stream"); }), IsOk());
  }
  release.Notify();
  ran.Wait();
  absl::MutexLock lock(&mu);
  // Not after all eight real-time jobs: within the first four taken.
  const auto batch = std::find(order.begin(), order.end(), "batch");
  EXPECT_LT(batch - order.begin(), 4);
}

}  // namespace
}  // namespace voxgate
