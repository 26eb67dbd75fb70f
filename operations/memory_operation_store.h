#ifndef VOXGATE_OPERATIONS_MEMORY_OPERATION_STORE_H_
#define VOXGATE_OPERATIONS_MEMORY_OPERATION_STORE_H_

#include <map>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "operations/operation_store.h"

namespace voxgate::operations {

// Operations in this process's memory (no redis.address): lost when it exits,
// and seen by this replica only. Answers on the calling thread. Expired
// records are dropped as they are met and on every write.
class MemoryOperationStore final : public OperationStore {
 public:
  explicit MemoryOperationStore(Clock& clock) : clock_(clock) {}

  void Put(const StoredOperation& record, bool create,
           StatusDone done) override;
  void Get(const std::string& name, RecordDone done) override;
  void List(const std::string& tenant, int offset, int limit,
            ListDone done) override;
  void Delete(const std::string& name, const std::string& tenant,
              StatusDone done) override;
  void RequestCancel(const std::string& name, absl::Duration ttl,
                     StatusDone done) override;
  void CancelRequested(const std::string& name, FlagDone done) override;
  // Every operation here is this process's own: alive while it is.
  void RenewLease(const std::string&, absl::Duration) override {}
  void LeaseAlive(const std::string&, FlagDone done) override { done(true); }
  bool shared() const override { return false; }

  int size() const;

 private:
  void DropExpiredLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, StoredOperation> records_ ABSL_GUARDED_BY(mu_);
  // (expiry in ms, name), soonest first.
  std::set<std::pair<int64_t, std::string>> expiries_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> cancels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_MEMORY_OPERATION_STORE_H_
