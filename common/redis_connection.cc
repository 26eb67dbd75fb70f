#include "common/redis_connection.h"

#include <sys/time.h>

#include "absl/strings/str_cat.h"

namespace voxgate {

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

std::string RedisConnection::Open(const std::string& host, int port,
                                  absl::Duration timeout) {
  const timeval limit = absl::ToTimeval(timeout);
  context_ = redisConnectWithTimeout(host.c_str(), port, limit);
  if (context_ == nullptr) return "cannot allocate a Redis context";
  if (context_->err != 0) return context_->errstr;
  redisSetTimeout(context_, limit);
  return "";
}

std::string RedisConnection::LoadScript(const char* script,
                                        std::string& error) {
  RedisReply reply = Command({"SCRIPT", "LOAD", script}, error);
  if (reply == nullptr) return "";
  if (reply->type != REDIS_REPLY_STRING) {
    error = "SCRIPT LOAD answered no hash";
    return "";
  }
  return reply->str;
}

void RedisConnection::Append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                         lengths.data());
}

RedisReply RedisConnection::Next(std::string& error) {
  void* raw = nullptr;
  refused_ = false;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
    error = context_->errstr[0] != '\0' ? context_->errstr
                                        : "the connection failed";
    return nullptr;
  }
  RedisReply reply(static_cast<redisReply*>(raw));
  if (reply->type == REDIS_REPLY_ERROR) {
    error = absl::StrCat("Redis answered: ", reply->str);
    refused_ = true;
    return nullptr;
  }
  return reply;
}

RedisReply RedisConnection::NextOf(int count, std::string& error) {
  RedisReply first;
  bool refused = false;
  for (int i = 0; i < count; ++i) {
    std::string failure;
    RedisReply reply = Next(failure);
    if (reply == nullptr && !refused_) {  // the connection is gone
      error = std::move(failure);
      return nullptr;
    }
    if (reply == nullptr && error.empty()) {
      error = std::move(failure);
      refused = true;
    }
    if (i == 0) first = std::move(reply);
  }
  refused_ = refused;
  return error.empty() ? std::move(first) : nullptr;
}

RedisReply RedisConnection::Command(const std::vector<std::string>& args,
                                    std::string& error) {
  Append(args);
  return Next(error);
}

}  // namespace voxgate
