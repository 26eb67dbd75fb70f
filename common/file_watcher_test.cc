#include "common/file_watcher.h"

#include <cstdio>
#include <fstream>

#include "absl/synchronization/notification.h"
#include "common/manual_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

class FileWatcherTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) {
    std::ofstream(path_, std::ios::trunc) << text;
  }
  const std::string path_ =
      std::string(std::getenv("TEST_TMPDIR")) + "/watched.yaml";
  ManualClock clock_;
  TimerQueue timers_{clock_};
};

TEST_F(FileWatcherTest, ReportsAChangeAtTheNextLookAndNotBefore) {
  Write("one");
  absl::Notification changed;
  int changes = 0;
  FileWatcher watcher({path_}, absl::Seconds(5), timers_, [&] {
    ++changes;
    changed.Notify();
  });
  clock_.Advance(absl::Seconds(5));  // a look with nothing changed
  // A timer due at the same instant runs after the look, which was scheduled
  // first: once it has run, the look has happened and the write comes after.
  absl::Notification looked;
  timers_.ScheduleAfter(absl::ZeroDuration(), [&] { looked.Notify(); });
  ASSERT_TRUE(looked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  Write("two, longer");
  EXPECT_FALSE(changed.HasBeenNotified());
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(changed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(changes, 1);
}

TEST_F(FileWatcherTest, AFileReplacedByRenameCountsAsChanged) {
  Write("one");
  absl::Notification changed;
  FileWatcher watcher({path_}, absl::Seconds(1), timers_,
                      [&] { changed.Notify(); });
  const std::string next = path_ + ".next";
  std::ofstream(next) << "one";  // same size: only the inode differs
  ASSERT_EQ(std::rename(next.c_str(), path_.c_str()), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(changed.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

}  // namespace
}  // namespace voxgate
