#ifndef VOXGATE_OPERATIONS_BATCH_JOB_H_
#define VOXGATE_OPERATIONS_BATCH_JOB_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "call/chunk_budget.h"
#include "operations/operation_store.h"
#include "voxgate/v1/batch.pb.h"

namespace voxgate::operations {

// One BatchTranscribe operation at work: its files go through Transcribe's
// operation (URL fetch, decode, chunks upstream) a few at a time, all sharing
// one chunk budget, and every start and end of a file updates the stored
// record (metadata, and the results so far). A file's failure is its own
// result. Stop() ends the batch early. Thread-safe.
// Who submitted a batch, for the files that run after the call has ended.
struct BatchCaller {
  std::string tenant;
  // Gets each finished file's usage (may be null).
  call::CallGrant::LaterCharge charge;
  // Asked before each file starts; a refusal is that file's error (may be
  // null).
  call::CallGrant::QuotaCheck check;
  // Hosts the tenant may fetch audio.uri from besides
  // audio.fetch.allowed_hosts.
  std::vector<std::string> fetch_allowed_hosts;
};

class BatchJob : public std::enable_shared_from_this<BatchJob> {
 public:
  struct Settings {
    int files_in_flight = 4;
    int chunk_slots = 8;
    absl::Duration file_timeout = absl::Hours(1);
    absl::Duration result_ttl = absl::Hours(24);
    std::string owner;  // this replica
  };
  // Saves the record over the stored one. Called under the job's lock, so
  // writes reach the store in the order made; must not block.
  using Persist = std::function<void(const StoredOperation&, bool create)>;

  BatchJob(std::string name, BatchCaller caller,
           v1::BatchTranscribeRequest request, Settings settings,
           const OperationServices& services, Clock& clock, Persist persist,
           std::shared_ptr<void> hold = nullptr);

  const std::string& name() const { return name_; }
  // The record as it stands (at first: every file pending, unsaved).
  StoredOperation Record() const;
  // Starts the files; `ended` runs once, when the operation is done.
  void Start(std::function<void()> ended);
  // Ends the batch early with `why` (CANCELLED, UNAVAILABLE): files not
  // started are not run, running ones are cancelled; the operation ends with
  // that error, the finished files' results in its details. No effect once
  // done.
  void Stop(absl::Status why);

 private:
  struct FileRun;
  void StartMore();
  // Transcribes a file once its tenant's quotas allow it.
  void RunFile(int index, std::shared_ptr<FileRun> run,
               v1::TranscribeRequest request);
  void OnFileDone(int index, absl::StatusOr<v1::TranscribeResponse> outcome);
  void FileEndedLocked(int index, v1::BatchFileResult result,
                       double audio_seconds) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the operation done (response, or the stop's error).
  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Metadata and expiry as of now.
  void UpdateRecordLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SaveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::TranscribeRequest FileRequestLocked(int index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string name_;
  const Settings settings_;
  const OperationServices& services_;
  Clock& clock_;
  const BatchCaller caller_;
  const Persist persist_;
  // What the job holds of its runner's budgets, given back when it goes.
  const std::shared_ptr<void> hold_;
  const std::shared_ptr<call::ChunkBudget> budget_;

  mutable absl::Mutex mu_;
  v1::BatchTranscribeRequest request_ ABSL_GUARDED_BY(mu_);
  StoredOperation record_ ABSL_GUARDED_BY(mu_);
  v1::BatchTranscribeMetadata metadata_ ABSL_GUARDED_BY(mu_);
  int next_file_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, std::shared_ptr<FileRun>> running_ ABSL_GUARDED_BY(mu_);
  absl::Status stopped_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> ended_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_BATCH_JOB_H_
