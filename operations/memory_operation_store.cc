#include "operations/memory_operation_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace voxgate::operations {

namespace {
absl::Status NotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("no operation \"", name, "\""));
}
}  // namespace

void MemoryOperationStore::DropExpiredLocked() {
  const int64_t now = absl::ToUnixMillis(clock_.Now());
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    const std::string name = expiries_.begin()->second;
    expiries_.erase(expiries_.begin());
    records_.erase(name);
    cancels_.erase(name);
  }
}

void MemoryOperationStore::Put(const StoredOperation& record, bool create,
                               StatusDone done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    DropExpiredLocked();
    const std::string& name = record.operation().name();
    auto it = records_.find(name);
    if (it == records_.end() && !create) {
      status = NotFound(name);
    } else {
      if (it != records_.end()) {
        expiries_.erase({it->second.expire_time_ms(), name});
      }
      records_[name] = record;
      expiries_.insert({record.expire_time_ms(), name});
    }
  }
  done(std::move(status));
}

void MemoryOperationStore::Get(const std::string& name, RecordDone done) {
  absl::StatusOr<StoredOperation> found = NotFound(name);
  {
    absl::MutexLock lock(&mu_);
    DropExpiredLocked();
    if (auto it = records_.find(name); it != records_.end()) {
      found = it->second;
    }
  }
  done(std::move(found));
}

void MemoryOperationStore::List(const std::string& tenant, int offset,
                                int limit, ListDone done) {
  std::vector<StoredOperation> mine;
  {
    absl::MutexLock lock(&mu_);
    DropExpiredLocked();
    for (const auto& [name, record] : records_) {
      if (record.tenant() == tenant) mine.push_back(record);
    }
  }
  std::stable_sort(mine.begin(), mine.end(),
                   [](const StoredOperation& a, const StoredOperation& b) {
                     return a.create_time_ms() > b.create_time_ms();
                   });
  const auto begin = std::min<std::size_t>(offset, mine.size());
  const auto end = std::min<std::size_t>(begin + limit, mine.size());
  done(std::vector<StoredOperation>(mine.begin() + begin, mine.begin() + end));
}

void MemoryOperationStore::Delete(const std::string& name, const std::string&,
                                  StatusDone done) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = records_.find(name); it != records_.end()) {
      expiries_.erase({it->second.expire_time_ms(), name});
      records_.erase(it);
    }
    cancels_.erase(name);
  }
  done(absl::OkStatus());
}

void MemoryOperationStore::RequestCancel(const std::string& name,
                                         absl::Duration, StatusDone done) {
  {
    absl::MutexLock lock(&mu_);
    cancels_.insert(name);
  }
  done(absl::OkStatus());
}

void MemoryOperationStore::CancelRequested(const std::string& name,
                                           FlagDone done) {
  bool requested;
  {
    absl::MutexLock lock(&mu_);
    requested = cancels_.count(name) > 0;
  }
  done(requested);
}

int MemoryOperationStore::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(records_.size());
}

}  // namespace voxgate::operations
