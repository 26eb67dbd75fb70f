#ifndef VOXGATE_OPERATIONS_BATCH_RUNNER_H_
#define VOXGATE_OPERATIONS_BATCH_RUNNER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/byte_budget.h"
#include "common/logging.h"
#include "common/timer_queue.h"
#include "google/longrunning/operations.pb.h"
#include "operations/batch_job.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "operations/operation_store.h"
#include "voxgate/config/v1/config.pb.h"

namespace voxgate::operations {

// This replica's BatchTranscribe operations: it stores each new one, runs at
// most batch.max_running at once and queues up to batch.max_queued more.
// With a shared store it keeps a lease saying it is alive (other replicas
// end its operations ABORTED when the lease lapses: operations are not
// resumed, their inputs are not stored) and polls for cancels that came
// through other replicas. Thread-safe; held by shared_ptr (its timers hold
// it weakly).
// Whether `name` has the shape BatchRunner gives operations
// ("operations/batch-" and 32 hex digits). Nothing else is looked up: the
// store keeps other keys beside the records (a pending cancel), and a lookup
// that reached one would tell a caller that another tenant's operation exists.
bool IsOperationName(absl::string_view name);

class BatchRunner : public std::enable_shared_from_this<BatchRunner> {
 public:
  using OperationDone =
      std::function<void(absl::StatusOr<google::longrunning::Operation>)>;

  static std::shared_ptr<BatchRunner> Create(
      const config::v1::BatchConfig& config, int chunks_in_flight,
      const OperationServices& services, OperationStore& store,
      const Logger& logger);

  // A new operation for a validated request: stored, then queued. `done`
  // gets it (not done yet), or RESOURCE_EXHAUSTED when the queue is full,
  // UNAVAILABLE when the store fails or the replica is shutting down.
  // `caller` charges each finished file's audio and tokens to the tenant's
  // quotas, and asks them before each file.
  void Submit(v1::BatchTranscribeRequest request, BatchCaller caller,
              OperationDone done);
  // Stops an operation this replica runs or queues (CANCELLED); false when
  // it is not here.
  bool Cancel(const std::string& name);
  // Ends every operation here with UNAVAILABLE (the replica stops; they are
  // not resumed elsewhere), and waits up to `wait` for their files to stop
  // and their final records to be written. Later submits are refused.
  void Shutdown(absl::Duration wait);

  // This process's name as an operation's owner.
  const std::string& replica_id() const { return settings_.owner; }
  OperationStore& store() const { return store_; }
  absl::Duration result_ttl() const { return settings_.result_ttl; }
  // Batches running and waiting here.
  int running() const;
  int queued() const;

  BatchRunner(const config::v1::BatchConfig& config, int chunks_in_flight,
              const OperationServices& services, OperationStore& store,
              const Logger& logger);

 private:
  void StartNext();
  void Ended(const std::string& name);
  void Persist(const StoredOperation& record, bool create);
  void RenewLease();
  void PollCancels();

  BatchJob::Settings settings_;
  const int max_running_;
  const int max_queued_;
  // Inline audio of the batches queued and running (batch.max_inline_bytes);
  // shared with the jobs' holds, which may outlive the runner.
  const std::shared_ptr<ByteBudget> inline_budget_;
  const absl::Duration lease_interval_;
  const absl::Duration cancel_poll_interval_;
  const OperationServices& services_;
  OperationStore& store_;
  const Logger& logger_;

  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<BatchJob>> running_
      ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<BatchJob>> queued_ ABSL_GUARDED_BY(mu_);
  // Submitted, counted against max_queued, not yet stored.
  int storing_ ABSL_GUARDED_BY(mu_) = 0;
  int unsaved_ ABSL_GUARDED_BY(mu_) = 0;  // writes not yet acknowledged
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_BATCH_RUNNER_H_
