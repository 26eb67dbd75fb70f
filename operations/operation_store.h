#ifndef VOXGATE_OPERATIONS_OPERATION_STORE_H_
#define VOXGATE_OPERATIONS_OPERATION_STORE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "voxgate/internal/v1/stored_operation.pb.h"

namespace voxgate::operations {

using StoredOperation = internal::v1::StoredOperation;

// Where long-running operations live: this process's memory, or Redis shared
// by the replicas. Every answer comes through a callback, exactly once: at
// once on the calling thread (memory) or later on the store's own thread
// (Redis), so gRPC reactions never wait on it. Writes from one thread are
// applied in the order made. A record is gone after its expire_time_ms.
// Thread-safe.
class OperationStore {
 public:
  using StatusDone = std::function<void(absl::Status)>;
  using RecordDone = std::function<void(absl::StatusOr<StoredOperation>)>;
  using ListDone =
      std::function<void(absl::StatusOr<std::vector<StoredOperation>>)>;
  using FlagDone = std::function<void(absl::StatusOr<bool>)>;

  virtual ~OperationStore() = default;

  // Creates the record (`create`), or replaces it only while it still exists
  // (a deleted operation stays deleted).
  virtual void Put(const StoredOperation& record, bool create,
                   StatusDone done) = 0;
  // NOT_FOUND when there is none.
  virtual void Get(const std::string& name, RecordDone done) = 0;
  // The tenant's operations, newest first: `limit` from `offset`.
  virtual void List(const std::string& tenant, int offset, int limit,
                    ListDone done) = 0;
  virtual void Delete(const std::string& name, const std::string& tenant,
                      StatusDone done) = 0;
  // A cancel for a replica that runs the operation (it polls for it).
  virtual void RequestCancel(const std::string& name, absl::Duration ttl,
                             StatusDone done) = 0;
  virtual void CancelRequested(const std::string& name, FlagDone done) = 0;
  // A replica says it is alive for `ttl` more; whether `owner` still is.
  virtual void RenewLease(const std::string& owner, absl::Duration ttl) = 0;
  virtual void LeaseAlive(const std::string& owner, FlagDone done) = 0;
  // Whether other replicas see the same operations.
  virtual bool shared() const = 0;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_OPERATION_STORE_H_
