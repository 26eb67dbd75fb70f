#include "operations/redis_operation_store.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace voxgate::operations {

namespace {

absl::Status Unavailable(const std::string& error) {
  return absl::UnavailableError(
      absl::StrCat("the operations store (Redis) failed: ", error));
}

}  // namespace

RedisOperationStore::RedisOperationStore(Options options, Clock& clock,
                                         const Logger& logger)
    : options_(std::move(options)), clock_(clock), logger_(logger) {
  thread_ = std::thread([this] { Run(); });
}

RedisOperationStore::~RedisOperationStore() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

std::string RedisOperationStore::OpKey(const std::string& name) const {
  return absl::StrCat(options_.key_prefix, "op:", name);
}

std::string RedisOperationStore::IndexKey(const std::string& tenant) const {
  return absl::StrCat(options_.key_prefix, "ops:{", tenant, "}");
}

void RedisOperationStore::Enqueue(Task task) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && static_cast<int>(queue_.size()) < options_.max_pending) {
      queue_.push_back(std::move(task));
      return;
    }
  }
  task(nullptr, "too many requests waiting for it (redis.max_pending)");
}

void RedisOperationStore::Run() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](RedisOperationStore* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and everything answered
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    std::string error;
    RedisConnection* connection = Connection(error);
    task(connection, error);
  }
}

RedisConnection* RedisOperationStore::Connection(std::string& error) {
  if (connection_ != nullptr) return connection_.get();
  if (clock_.Now() < next_attempt_) {
    error = "unreachable (reconnecting)";
    return nullptr;
  }
  auto fresh = std::make_unique<RedisConnection>();
  error = fresh->Open(options_.host, options_.port, options_.timeout);
  if (!error.empty()) {
    Failed(error);
    return nullptr;
  }
  connection_ = std::move(fresh);
  if (reported_down_) {
    logger_.Info("operations store reachable again",
                 {{"redis", absl::StrCat(options_.host, ":", options_.port)}});
    reported_down_ = false;
  }
  return connection_.get();
}

absl::Status RedisOperationStore::Trouble(const RedisConnection& redis,
                                          const std::string& error) {
  if (!redis.refused()) {
    Failed(error);
    return Unavailable(error);
  }
  // Redis refused the one command; the connection is fine and stays.
  if (absl::StrContains(error, "OOM")) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the operations store is full (", error,
        "); raise its maxmemory, shorten batch.result_ttl, or give operations "
        "a Redis of their own (redis.operations_address)"));
  }
  return absl::InternalError(
      absl::StrCat("the operations store refused a command: ", error));
}

void RedisOperationStore::Failed(const std::string& error) {
  connection_.reset();
  next_attempt_ = clock_.Now() + options_.reconnect_interval;
  if (!reported_down_) {
    logger_.Warning("operations store unreachable",
                    {{"redis", absl::StrCat(options_.host, ":", options_.port)},
                     {"error", error}});
    reported_down_ = true;
  }
}

void RedisOperationStore::Put(const StoredOperation& record, bool create,
                              StatusDone done) {
  const std::string name = record.operation().name();
  std::vector<std::string> set = {OpKey(name), record.SerializeAsString(),
                                  "PXAT",
                                  absl::StrCat(record.expire_time_ms())};
  if (!create) set.push_back("XX");
  Enqueue(
      [this, name, set = std::move(set), create, tenant = record.tenant(),
       created = record.create_time_ms(), expires = record.expire_time_ms(),
       done = std::move(done)](RedisConnection* redis, const std::string& why) {
        if (redis == nullptr) return done(Unavailable(why));
        std::vector<std::string> command = {"SET"};
        command.insert(command.end(), set.begin(), set.end());
        std::string error;
        redis->Append(command);
        // The index lives as long as its newest record: NX sets a first expiry,
        // GT only ever extends it.
        const std::string index = IndexKey(tenant);
        if (create) redis->Append({"ZADD", index, absl::StrCat(created), name});
        redis->Append({"PEXPIREAT", index, absl::StrCat(expires), "NX"});
        redis->Append({"PEXPIREAT", index, absl::StrCat(expires), "GT"});
        RedisReply reply = redis->NextOf(create ? 4 : 3, error);
        if (reply == nullptr) return done(Trouble(*redis, error));
        if (reply->type == REDIS_REPLY_NIL) {
          return done(
              absl::NotFoundError(absl::StrCat("no operation \"", name, "\"")));
        }
        done(absl::OkStatus());
      });
}

void RedisOperationStore::Get(const std::string& name, RecordDone done) {
  Enqueue([this, name, done = std::move(done)](RedisConnection* redis,
                                               const std::string& why) {
    if (redis == nullptr) return done(Unavailable(why));
    std::string error;
    RedisReply reply = redis->Command({"GET", OpKey(name)}, error);
    if (reply == nullptr) {
      return done(Trouble(*redis, error));
    }
    StoredOperation record;
    if (reply->type != REDIS_REPLY_STRING) {
      return done(
          absl::NotFoundError(absl::StrCat("no operation \"", name, "\"")));
    }
    if (!record.ParseFromArray(reply->str, static_cast<int>(reply->len))) {
      return done(absl::DataLossError(
          absl::StrCat("operation \"", name, "\": its record is unreadable")));
    }
    done(std::move(record));
  });
}

void RedisOperationStore::List(const std::string& tenant, int offset, int limit,
                               ListDone done) {
  Enqueue([this, tenant, offset, limit, done = std::move(done)](
              RedisConnection* redis, const std::string& why) {
    if (redis == nullptr) return done(Unavailable(why));
    std::string error;
    const std::string index = IndexKey(tenant);
    RedisReply names = redis->Command({"ZRANGE", index, absl::StrCat(offset),
                                       absl::StrCat(offset + limit - 1), "REV"},
                                      error);
    if (names == nullptr) {
      return done(Trouble(*redis, error));
    }
    std::vector<std::string> keys;
    for (size_t i = 0; i < names->elements; ++i) {
      keys.emplace_back(names->element[i]->str, names->element[i]->len);
    }
    std::vector<StoredOperation> records;
    if (keys.empty()) return done(std::move(records));
    std::vector<std::string> mget = {"MGET"};
    for (const std::string& key : keys) mget.push_back(OpKey(key));
    RedisReply values = redis->Command(mget, error);
    if (values == nullptr) {
      return done(Trouble(*redis, error));
    }
    std::vector<std::string> gone = {"ZREM", index};
    for (size_t i = 0; i < values->elements; ++i) {
      const redisReply* value = values->element[i];
      StoredOperation record;
      if (value->type == REDIS_REPLY_STRING &&
          record.ParseFromArray(value->str, static_cast<int>(value->len))) {
        records.push_back(std::move(record));
      } else {
        gone.push_back(keys[i]);  // expired: forget its index entry
      }
    }
    if (gone.size() > 2 && redis->Command(gone, error) == nullptr) {
      (void)Trouble(*redis, error);  // the records are answered all the same
    }
    done(std::move(records));
  });
}

void RedisOperationStore::Delete(const std::string& name,
                                 const std::string& tenant, StatusDone done) {
  Enqueue([this, name, tenant, done = std::move(done)](RedisConnection* redis,
                                                       const std::string& why) {
    if (redis == nullptr) return done(Unavailable(why));
    std::string error;
    // The cancel key stays (to its expiry): a replica running the operation
    // still has to see it.
    redis->Append({"DEL", OpKey(name)});
    redis->Append({"ZREM", IndexKey(tenant), name});
    if (redis->NextOf(2, error) == nullptr) return done(Trouble(*redis, error));
    done(absl::OkStatus());
  });
}

void RedisOperationStore::RequestCancel(const std::string& name,
                                        absl::Duration ttl, StatusDone done) {
  Enqueue([this, name, ttl, done = std::move(done)](RedisConnection* redis,
                                                    const std::string& why) {
    if (redis == nullptr) return done(Unavailable(why));
    std::string error;
    if (redis->Command({"SET", OpKey(name) + ":cancel", "1", "PX",
                        absl::StrCat(absl::ToInt64Milliseconds(ttl))},
                       error) == nullptr) {
      return done(Trouble(*redis, error));
    }
    done(absl::OkStatus());
  });
}

void RedisOperationStore::CancelRequested(const std::string& name,
                                          FlagDone done) {
  Enqueue([this, name, done = std::move(done)](RedisConnection* redis,
                                               const std::string& why) {
    if (redis == nullptr) return done(Unavailable(why));
    std::string error;
    RedisReply reply =
        redis->Command({"EXISTS", OpKey(name) + ":cancel"}, error);
    if (reply == nullptr) {
      return done(Trouble(*redis, error));
    }
    done(reply->integer > 0);
  });
}

void RedisOperationStore::RenewLease(const std::string& owner,
                                     absl::Duration ttl) {
  Enqueue([this, owner, ttl](RedisConnection* redis, const std::string&) {
    if (redis == nullptr) return;
    std::string error;
    if (redis->Command(
            {"SET", absl::StrCat(options_.key_prefix, "replica:", owner), "1",
             "PX", absl::StrCat(absl::ToInt64Milliseconds(ttl))},
            error) == nullptr) {
      (void)Trouble(*redis, error);
    }
  });
}

void RedisOperationStore::LeaseAlive(const std::string& owner, FlagDone done) {
  Enqueue([this, owner, done = std::move(done)](RedisConnection* redis,
                                                const std::string& why) {
    if (redis == nullptr) return done(Unavailable(why));
    std::string error;
    RedisReply reply = redis->Command(
        {"EXISTS", absl::StrCat(options_.key_prefix, "replica:", owner)},
        error);
    if (reply == nullptr) {
      return done(Trouble(*redis, error));
    }
    done(reply->integer > 0);
  });
}

}  // namespace voxgate::operations
