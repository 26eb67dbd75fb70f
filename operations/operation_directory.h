#ifndef VOXGATE_OPERATIONS_OPERATION_DIRECTORY_H_
#define VOXGATE_OPERATIONS_OPERATION_DIRECTORY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/longrunning/operations.pb.h"
#include "operations/batch_runner.h"

namespace voxgate::operations {

// What google.longrunning.Operations does, for one tenant at a time: a
// tenant sees only the operations it created (another's are NOT_FOUND, as
// missing ones are). Reading an unfinished operation whose replica's lease
// has lapsed ends it ABORTED, with the files finished by then in the
// error's details. Answers through callbacks (see OperationStore).
class OperationDirectory {
 public:
  using Operation = google::longrunning::Operation;
  using OperationDone = std::function<void(absl::StatusOr<Operation>)>;
  using ListDone = std::function<void(absl::StatusOr<std::vector<Operation>>)>;
  using StatusDone = std::function<void(absl::Status)>;

  explicit OperationDirectory(BatchRunner& runner) : runner_(runner) {}

  void Get(const std::string& name, const std::string& tenant,
           OperationDone done);
  void List(const std::string& tenant, int offset, int limit, ListDone done);
  // Best effort, as the standard says: the operation ends CANCELLED soon
  // (at once on the replica running it; within batch.cancel_poll_interval
  // through another). Done operations stay as they are.
  void Cancel(const std::string& name, const std::string& tenant,
              StatusDone done);
  // Forgets the operation; a running one is cancelled first.
  void Delete(const std::string& name, const std::string& tenant,
              StatusDone done);

 private:
  using RecordDone = std::function<void(absl::StatusOr<StoredOperation>)>;
  // The tenant's record, with a dead owner's operation ended first.
  void Lookup(const std::string& name, const std::string& tenant,
              RecordDone done);
  void EndOrphan(StoredOperation record, RecordDone done);

  BatchRunner& runner_;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_OPERATION_DIRECTORY_H_
