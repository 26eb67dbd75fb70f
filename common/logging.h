#ifndef VOXGATE_COMMON_LOGGING_H_
#define VOXGATE_COMMON_LOGGING_H_

#include <cstdio>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace voxgate {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Writes one JSON object per line: {"ts", "level", "msg", ...fields}. Fields
// must never carry audio, prompts (above debug) or secrets. Thread-safe; each
// line is written whole.
class Logger {
 public:
  using Fields = nlohmann::ordered_json;

  explicit Logger(LogLevel min_level, std::FILE* out = stderr)
      : min_level_(min_level), out_(out) {}

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

 private:
  const LogLevel min_level_;
  std::FILE* const out_;
  mutable absl::Mutex mu_;
};

}  // namespace voxgate

#endif  // VOXGATE_COMMON_LOGGING_H_
