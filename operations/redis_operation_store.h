#ifndef VOXGATE_OPERATIONS_REDIS_OPERATION_STORE_H_
#define VOXGATE_OPERATIONS_REDIS_OPERATION_STORE_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/redis_connection.h"
#include "operations/operation_store.h"

namespace voxgate::operations {

// Operations in Redis (redis.address), so that every replica answers for
// them. Keys, under redis.key_prefix:
//   op:NAME         the StoredOperation's bytes, expiring at its expire time
//   op:NAME:cancel  a CancelOperation for the replica that runs it
//   ops:{TENANT}    the tenant's operation names scored by creation time
//   replica:OWNER   a running replica's lease
// Requests run in order on one thread of its own with a timeout each; when
// Redis cannot be reached they fail UNAVAILABLE at once (and the thread
// reconnects at most every reconnect_interval). Thread-safe.
class RedisOperationStore final : public OperationStore {
 public:
  using Options = RedisOptions;
  RedisOperationStore(Options options, Clock& clock, const Logger& logger);
  // Finishes the requests already queued first (bounded by their timeouts).
  ~RedisOperationStore() override;

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
  void RenewLease(const std::string& owner, absl::Duration ttl) override;
  void LeaseAlive(const std::string& owner, FlagDone done) override;
  bool shared() const override { return true; }

 private:
  // Runs on the store's thread with the connection, or with null and why
  // there is none.
  using Task = std::function<void(RedisConnection*, const std::string&)>;
  void Enqueue(Task task);
  void Run();
  // The connection, (re)opened when due; null while Redis is unreachable.
  RedisConnection* Connection(std::string& error);
  void Failed(const std::string& error);
  // A command's failure as the caller's status: a refusal of that command
  // alone (RESOURCE_EXHAUSTED when Redis is full) keeps the connection; a
  // failed connection is dropped (UNAVAILABLE).
  absl::Status Trouble(const RedisConnection& redis, const std::string& error);

  std::string OpKey(const std::string& name) const;
  std::string IndexKey(const std::string& tenant) const;

  const Options options_;
  Clock& clock_;
  const Logger& logger_;
  std::unique_ptr<RedisConnection> connection_;     // the thread's own
  absl::Time next_attempt_ = absl::InfinitePast();  // the thread's own
  bool reported_down_ = false;                      // the thread's own

  absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_REDIS_OPERATION_STORE_H_
