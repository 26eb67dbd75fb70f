#include "operations/operation_directory.h"

#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "operations/batch_job.h"
#include "call/status_details.h"

namespace voxgate::operations {

namespace {

absl::Status NotFound(const std::string& name) {
  return absl::NotFoundError(
      absl::StrCat("name: no operation \"", name,
                   "\" (finished operations are kept for batch.result_ttl)"));
}

}  // namespace

void OperationDirectory::Lookup(const std::string& name,
                                const std::string& tenant, RecordDone done) {
  if (!absl::StartsWith(name, "operations/") || name.size() > 200) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "name: expected \"operations/...\" as BatchTranscribe returned it, "
        "got \"",
        name.substr(0, 200), "\"")));
  }
  // A name of another shape is no operation, whatever the store holds there.
  if (!IsOperationName(name)) return done(NotFound(name));
  runner_.store().Get(name, [this, name, tenant, done = std::move(done)](
                                absl::StatusOr<StoredOperation> record) {
    if (absl::IsNotFound(record.status()) ||
        (record.ok() && record->tenant() != tenant)) {
      return done(NotFound(name));
    }
    if (!record.ok()) return done(record.status());
    if (record->operation().done() || record->owner() == runner_.replica_id()) {
      return done(std::move(record));
    }
    const std::string owner = record->owner();
    runner_.store().LeaseAlive(
        owner, [this, record = *std::move(record),
                done = std::move(done)](absl::StatusOr<bool> alive) mutable {
          if (!alive.ok()) return done(alive.status());
          if (*alive) return done(std::move(record));
          EndOrphan(std::move(record), std::move(done));
        });
  });
}

void OperationDirectory::EndOrphan(StoredOperation record, RecordDone done) {
  Operation& operation = *record.mutable_operation();
  operation.set_done(true);
  v1::BatchTranscribeMetadata metadata;
  operation.metadata().UnpackTo(&metadata);
  v1::BatchTranscribeResponse partial = record.partial();
  auto& results = *partial.mutable_results();
  while (results.size() < metadata.files_size()) results.Add();
  const google::rpc::Status lost = call::StatusToProto(absl::AbortedError(
      "not finished: the gateway replica running the batch stopped"));
  for (int i = 0; i < metadata.files_size(); ++i) {
    v1::BatchFileStatus& file = *metadata.mutable_files(i);
    if (file.state() == v1::BATCH_FILE_STATE_SUCCEEDED ||
        file.state() == v1::BATCH_FILE_STATE_FAILED) {
      continue;
    }
    file.set_state(v1::BATCH_FILE_STATE_FAILED);
    *file.mutable_error() = lost;
    metadata.set_files_done(metadata.files_done() + 1);
    metadata.set_files_failed(metadata.files_failed() + 1);
    results[i].set_id(file.id());
    *results[i].mutable_error() = lost;
  }
  const int transcribed = metadata.files_done() - metadata.files_failed();
  google::rpc::Status error = call::StatusToProto(absl::AbortedError(absl::StrCat(
      "the gateway replica running the batch (", record.owner(),
      ") stopped before it finished; operations are not resumed: submit the "
      "files without a result again (",
      transcribed, " of ", metadata.files_total(),
      " files had been transcribed: every file's result or error is in this "
      "status's details)")));
  error.add_details()->PackFrom(partial);
  *operation.mutable_error() = std::move(error);
  operation.mutable_metadata()->PackFrom(metadata);
  record.clear_partial();
  record.clear_owner();
  // Whichever replica ends it first wins; the write only replaces an
  // existing record.
  auto saved = std::make_shared<StoredOperation>(std::move(record));
  runner_.store().Put(*saved, /*create=*/false,
                      [saved, done = std::move(done)](absl::Status status) {
                        if (!status.ok()) return done(status);
                        done(std::move(*saved));
                      });
}

void OperationDirectory::Get(const std::string& name, const std::string& tenant,
                             OperationDone done) {
  Lookup(name, tenant,
         [done = std::move(done)](absl::StatusOr<StoredOperation> record) {
           if (!record.ok()) return done(record.status());
           done(std::move(*record->mutable_operation()));
         });
}

void OperationDirectory::List(const std::string& tenant, int offset, int limit,
                              ListDone done) {
  runner_.store().List(
      tenant, offset, limit,
      [done = std::move(done)](
          absl::StatusOr<std::vector<StoredOperation>> records) {
        if (!records.ok()) return done(records.status());
        std::vector<Operation> operations;
        for (StoredOperation& record : *records) {
          operations.push_back(std::move(*record.mutable_operation()));
        }
        done(std::move(operations));
      });
}

void OperationDirectory::Cancel(const std::string& name,
                                const std::string& tenant, StatusDone done) {
  Lookup(name, tenant,
         [this, name,
          done = std::move(done)](absl::StatusOr<StoredOperation> record) {
           if (!record.ok()) return done(record.status());
           if (record->operation().done() || runner_.Cancel(name)) {
             return done(absl::OkStatus());
           }
           // Running on another replica: it polls for this.
           runner_.store().RequestCancel(name, runner_.result_ttl(),
                                         std::move(done));
         });
}

void OperationDirectory::Delete(const std::string& name,
                                const std::string& tenant, StatusDone done) {
  Lookup(name, tenant,
         [this, name, tenant, done = std::move(done)](
             absl::StatusOr<StoredOperation> record) mutable {
           if (!record.ok()) return done(record.status());
           if (!record->operation().done() && !runner_.Cancel(name)) {
             runner_.store().RequestCancel(name, runner_.result_ttl(),
                                           [](absl::Status) {});
           }
           runner_.store().Delete(name, tenant, std::move(done));
         });
}

}  // namespace voxgate::operations
