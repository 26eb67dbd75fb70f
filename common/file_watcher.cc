#include "common/file_watcher.h"

#include <sys/stat.h>

#include <tuple>

#include "absl/synchronization/mutex.h"

namespace voxgate {
namespace {

using Stamp = std::tuple<bool, ino_t, off_t, int64_t, int64_t>;

Stamp StampOf(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return {false, 0, 0, 0, 0};
  return {true, info.st_ino, info.st_size, info.st_mtim.tv_sec,
          info.st_mtim.tv_nsec};
}

}  // namespace

struct FileWatcher::State {
  State(std::vector<std::string> paths, absl::Duration interval,
        TimerQueue& timers, std::function<void()> changed)
      : paths(std::move(paths)),
        interval(interval),
        timers(timers),
        changed(std::move(changed)) {}
  std::vector<std::string> paths;
  absl::Duration interval;
  TimerQueue& timers;
  std::function<void()> changed;
  // Held while `changed` runs, so the destructor waits for it.
  absl::Mutex mu;
  bool stopped ABSL_GUARDED_BY(mu) = false;
  TimerQueue::TimerId timer ABSL_GUARDED_BY(mu) = 0;
  std::vector<Stamp> stamps ABSL_GUARDED_BY(mu);

  static void Schedule(const std::shared_ptr<State>& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
    std::weak_ptr<State> weak = state;
    state->timer = state->timers.ScheduleAfter(state->interval, [weak] {
      if (std::shared_ptr<State> self = weak.lock()) self->Look(self);
    });
  }

  void Look(const std::shared_ptr<State>& self) {
    absl::MutexLock lock(&mu);
    if (stopped) return;
    std::vector<Stamp> now;
    for (const std::string& path : paths) now.push_back(StampOf(path));
    if (now != stamps) {
      stamps = std::move(now);
      changed();
    }
    Schedule(self);
  }
};

FileWatcher::FileWatcher(std::vector<std::string> paths,
                         absl::Duration interval, TimerQueue& timers,
                         std::function<void()> changed)
    : state_(std::make_shared<State>(std::move(paths), interval, timers,
                                     std::move(changed))) {
  absl::MutexLock lock(&state_->mu);
  for (const std::string& path : state_->paths) {
    state_->stamps.push_back(StampOf(path));
  }
  State::Schedule(state_);
}

FileWatcher::~FileWatcher() {
  absl::MutexLock lock(&state_->mu);
  state_->stopped = true;
  state_->timers.Cancel(state_->timer);
}

}  // namespace voxgate
