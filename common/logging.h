#ifndef VOXGATE_COMMON_LOGGING_H_
#define VOXGATE_COMMON_LOGGING_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace voxgate {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Writes one JSON object per line: {"ts", "level", "msg", ...fields}. Fields
// must never carry audio, prompts (above debug) or secrets. Thread-safe; each
// line is written whole.
//
// Log() never blocks on the output: it runs on gRPC and upstream threads, and
// stderr is a pipe a container runtime may read slowly. Lines go to a bounded
// buffer that a writer thread of the logger's own writes out in batches (one
// write per batch, at least every `flush_interval`, at once for errors). When
// the buffer is full, lines are dropped and counted, and a warning saying how
// many follows once the output drains. The destructor writes out everything
// still buffered.
class Logger {
 public:
  using Fields = nlohmann::ordered_json;

  struct Options {
    std::size_t max_buffered_bytes = 4 << 20;
    absl::Duration flush_interval = absl::Milliseconds(20);
  };

  explicit Logger(LogLevel min_level, std::FILE* out = stderr)
      : Logger(min_level, out, Options()) {}
  Logger(LogLevel min_level, std::FILE* out, Options options);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool Enabled(LogLevel level) const { return level >= min_level_; }

  // `fields` must be a JSON object (or null for none).
  void Log(LogLevel level, absl::string_view message,
           const Fields& fields = Fields()) const;

  void Info(absl::string_view message, const Fields& fields = Fields()) const {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warning(absl::string_view message,
               const Fields& fields = Fields()) const {
    Log(LogLevel::kWarning, message, fields);
  }
  void Error(absl::string_view message, const Fields& fields = Fields()) const {
    Log(LogLevel::kError, message, fields);
  }

  // Lines dropped so far because the buffer was full.
  uint64_t dropped_lines() const;

 private:
  void WriteOut();

  const LogLevel min_level_;
  std::FILE* const out_;
  const Options options_;
  mutable absl::Mutex mu_;
  mutable std::string buffered_ ABSL_GUARDED_BY(mu_);
  mutable bool urgent_ ABSL_GUARDED_BY(mu_) = false;
  mutable uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  mutable uint64_t dropped_unreported_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_LOGGING_H_
