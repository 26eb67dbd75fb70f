#include "common/logging.h"

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

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

}  // namespace

void Logger::Log(LogLevel level, absl::string_view message,
                 const Fields& fields) const {
  if (!Enabled(level)) return;
  Fields line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                absl::UTCTimeZone());
  line["level"] = LevelName(level);
  line["msg"] = std::string(message);
  if (fields.is_object()) line.update(fields);
  // Invalid UTF-8 (e.g. from an upstream body) is replaced rather than thrown
  // on.
  std::string text =
      line.dump(-1, ' ', false, Fields::error_handler_t::replace);
  text.push_back('\n');
  absl::MutexLock lock(&mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace voxgate
