#ifndef VOXGATE_COMMON_FILE_WATCHER_H_
#define VOXGATE_COMMON_FILE_WATCHER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/timer_queue.h"

namespace voxgate {

// Notices when files change: every `interval` it stats `paths` (following
// symlinks, as Kubernetes swaps a mounted Secret's `..data` link, and
// cert-manager rewrites it) and runs `changed` on the timer thread when any
// one's inode, size or modification time differs from the last look. A file
// that vanishes counts as a change too. Stops on destruction; `changed` does
// not run after the destructor returns. Thread-safe.
class FileWatcher {
 public:
  FileWatcher(std::vector<std::string> paths, absl::Duration interval,
              TimerQueue& timers, std::function<void()> changed);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_FILE_WATCHER_H_
