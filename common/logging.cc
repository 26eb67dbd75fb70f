#include "common/logging.h"

#include <string>
#include <utility>

#include "absl/time/clock.h"

namespace voxgate {
namespace {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string FormatLine(LogLevel level, absl::string_view message,
                       const Logger::Fields& fields) {
  Logger::Fields line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                absl::UTCTimeZone());
  line["level"] = LevelName(level);
  line["msg"] = std::string(message);
  if (fields.is_object()) line.update(fields);
  // Invalid UTF-8 (e.g. from an upstream body) is replaced rather than thrown
  // on.
  std::string text =
      line.dump(-1, ' ', false, Logger::Fields::error_handler_t::replace);
  text.push_back('\n');
  return text;
}

// Below this, the writer waits for more lines (or the flush interval) rather
// than paying a write per line.
constexpr std::size_t kBatchBytes = 64 << 10;

}  // namespace

Logger::Logger(LogLevel min_level, std::FILE* out, Options options)
    : min_level_(min_level),
      out_(out),
      options_(options),
      writer_([this] { WriteOut(); }) {}

Logger::~Logger() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

void Logger::Log(LogLevel level, absl::string_view message,
                 const Fields& fields) const {
  if (!Enabled(level)) return;
  std::string text = FormatLine(level, message, fields);
  absl::MutexLock lock(&mu_);
  if (buffered_.size() + text.size() > options_.max_buffered_bytes) {
    ++dropped_;
    ++dropped_unreported_;
    return;
  }
  buffered_.append(text);
  // Errors go out at once (the process may be about to stop); warnings, one per
  // failed call, would wake the writer per call in an error storm.
  if (level >= LogLevel::kError) urgent_ = true;
}

uint64_t Logger::dropped_lines() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

void Logger::WriteOut() {
  std::string batch;
  bool last = false;
  while (!last) {
    uint64_t dropped = 0;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || urgent_ || buffered_.size() >= kBatchBytes;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.flush_interval);
      last = stopping_;
      urgent_ = false;
      batch.swap(buffered_);
      dropped = std::exchange(dropped_unreported_, 0);
    }
    if (dropped != 0) {
      // Said after the lines that made it, before the ones that follow.
      batch.append(FormatLine(
          LogLevel::kWarning, "log lines dropped",
          {{"count", dropped}, {"reason", "the log output fell behind"}}));
    }
    if (batch.empty()) continue;
    std::fwrite(batch.data(), 1, batch.size(), out_);
    std::fflush(out_);
    batch.clear();
  }
}

}  // namespace voxgate
