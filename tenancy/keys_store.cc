#include "tenancy/keys_store.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace voxgate::tenancy {

absl::StatusOr<std::shared_ptr<const KeyRing>> LoadKeyRing(
    const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("auth.keys_file: cannot read ", path));
  }
  std::ostringstream text;
  text << file.rdbuf();
  auto ring = KeyRing::Parse(text.str());
  if (!ring.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth.keys_file ", path, ": ", ring.status().message()));
  }
  return ring;
}

absl::StatusOr<std::unique_ptr<KeysStore>> KeysStore::Start(
    const std::string& path, absl::Duration interval, TimerQueue& timers,
    const Logger& logger, std::function<void(const KeyRing&)> reloaded) {
  auto ring = LoadKeyRing(path);
  if (!ring.ok()) return ring.status();
  std::unique_ptr<KeysStore> store(
      new KeysStore(path, logger, std::move(reloaded)));
  store->current_ = *std::move(ring);
  if (store->reloaded_) store->reloaded_(*store->current_);
  KeysStore* raw = store.get();
  store->watcher_ =
      std::make_unique<FileWatcher>(std::vector<std::string>{path}, interval,
                                    timers, [raw] { raw->Reload(); });
  return store;
}

std::shared_ptr<const KeyRing> KeysStore::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void KeysStore::Reload() {
  auto ring = LoadKeyRing(path_);
  if (!ring.ok()) {
    logger_.Warning("keys file not reloaded; the previous version stays",
                    {{"error", std::string(ring.status().message())}});
    return;
  }
  logger_.Info("keys file reloaded", {{"tenants", (*ring)->tenants().size()},
                                      {"keys", (*ring)->key_count()}});
  {
    absl::MutexLock lock(&mu_);
    current_ = *ring;
  }
  if (reloaded_) reloaded_(**ring);
}

}  // namespace voxgate::tenancy
