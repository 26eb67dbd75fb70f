#ifndef VOXGATE_TENANCY_KEYS_STORE_H_
#define VOXGATE_TENANCY_KEYS_STORE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/file_watcher.h"
#include "common/logging.h"
#include "common/timer_queue.h"
#include "tenancy/keyring.h"

namespace voxgate::tenancy {

// The keys file, loaded at start and reloaded when it changes. A reload that
// fails (unreadable, invalid) keeps the previous version and logs why; calls
// admitted under a version keep it until they end. Thread-safe.
class KeysStore {
 public:
  // Loads `path` now: NOT_FOUND or INVALID_ARGUMENT naming the file and the
  // key at fault, so a gateway with a broken keys file does not start.
  // `reloaded` (may be empty) runs on the timer thread after each reload.
  static absl::StatusOr<std::unique_ptr<KeysStore>> Start(
      const std::string& path, absl::Duration interval, TimerQueue& timers,
      const Logger& logger,
      std::function<void(const KeyRing&)> reloaded = nullptr);

  std::shared_ptr<const KeyRing> Current() const;

 private:
  KeysStore(std::string path, const Logger& logger,
            std::function<void(const KeyRing&)> reloaded)
      : path_(std::move(path)),
        logger_(logger),
        reloaded_(std::move(reloaded)) {}
  void Reload();

  const std::string path_;
  const Logger& logger_;
  const std::function<void(const KeyRing&)> reloaded_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const KeyRing> current_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<FileWatcher> watcher_;
};

// Reads and parses a keys file; errors name the file.
absl::StatusOr<std::shared_ptr<const KeyRing>> LoadKeyRing(
    const std::string& path);

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_KEYS_STORE_H_
