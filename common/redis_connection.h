#ifndef VOXGATE_COMMON_REDIS_CONNECTION_H_
#define VOXGATE_COMMON_REDIS_CONNECTION_H_

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace voxgate {

// Where a Redis is and how to talk to it (redis.* in the configuration).
struct RedisOptions {
  std::string host;
  int port = 6379;
  // Each round trip (connect, or one batch of commands) gives up after this.
  absl::Duration timeout = absl::Milliseconds(250);
  // While unreachable, reconnect at most this often.
  absl::Duration reconnect_interval = absl::Seconds(1);
  // Prefix of every key.
  std::string key_prefix = "voxgate:";
  // Requests waiting for Redis, at most.
  int max_pending = 10000;
};

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

// One blocking hiredis connection (Debian's libhiredis-dev) with a timeout
// on every round trip, for a thread that owns it: commands are appended
// (pipelined) and their replies read in order. Not thread-safe.
class RedisConnection {
 public:
  RedisConnection() = default;
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  ~RedisConnection();

  // Empty on success, else what went wrong.
  std::string Open(const std::string& host, int port, absl::Duration timeout);
  // Loads a Lua script; its SHA1 for EVALSHA, or empty with `error` set.
  std::string LoadScript(const char* script, std::string& error);
  // Appends one command, arguments as given (binary-safe).
  void Append(const std::vector<std::string>& args);
  // The next reply, or null with `error` set (an error reply included).
  RedisReply Next(std::string& error);
  // Whether the last Next's failure was Redis refusing that one command (an
  // error reply: OOM at maxmemory, a wrong type, NOSCRIPT): the connection
  // is still good and in step. Otherwise the connection failed.
  bool refused() const { return refused_; }
  // Reads the replies of `count` pipelined commands, every one of them even
  // after a refusal, so the connection stays in step; the first reply, or
  // null with `error` (and refused()) for the first failure. After a
  // connection failure the rest are not read: drop the connection.
  RedisReply NextOf(int count, std::string& error);
  // Append then Next.
  RedisReply Command(const std::vector<std::string>& args, std::string& error);

 private:
  redisContext* context_ = nullptr;
  bool refused_ = false;
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_REDIS_CONNECTION_H_
