#ifndef VOXGATE_COMMON_JSON_LIMITS_H_
#define VOXGATE_COMMON_JSON_LIMITS_H_

// JSON from callers: its size, depth and element count checked by a SAX pass
// before any tree is built (a tree of `[{},{},...]` costs ~30 bytes of input
// per 100 bytes of memory; building or serializing one recurses once per
// level, so 100,000 nested brackets overflow the stack), then the tree built
// without exceptions; and serialization that never throws on caller bytes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace voxgate {

// How JSON text from a caller looks, found without building a tree.
enum class JsonShape {
  kValid,    // JSON, nested at most max_depth deep
  kTooDeep,  // JSON-like, nested deeper than max_depth
  kNotJson,  // not a JSON document
};

// Reads `text` with nlohmann's SAX parser, stopping at the first level beyond
// `max_depth` (arrays and objects each count one level).
JsonShape InspectJson(absl::string_view text, int max_depth);

// What one caller JSON document may hold.
struct JsonLimits {
  std::size_t max_bytes = 32 << 20;
  int max_depth = 64;  // arrays and objects each count one level
  // Values of any kind (scalars, arrays, objects; keys excluded).
  int64_t max_elements = 200000;
  std::size_t max_string_bytes = 32 << 20;  // any one string or key
};

// OK when `text` is one JSON document within `limits`; otherwise
// INVALID_ARGUMENT "<what>: ..." naming the limit broken or where the text
// stops being JSON. Builds nothing; stops at the first limit.
absl::Status CheckJson(absl::string_view text, absl::string_view what,
                       const JsonLimits& limits);

// CheckJson, then the tree. Never throws.
absl::StatusOr<nlohmann::json> ParseCallerJson(absl::string_view text,
                                               absl::string_view what,
                                               const JsonLimits& limits);

// Compact JSON text of `value` with invalid UTF-8 in its strings replaced by
// U+FFFD (nlohmann's strict dump throws on it). For every answer that can
// carry caller bytes. Depth is the tree's: trees from ParseCallerJson are
// bounded.
std::string DumpJson(const nlohmann::json& value);

// `bytes` with each invalid UTF-8 sequence replaced by U+FFFD: for caller
// text echoed in a message.
std::string ValidUtf8(absl::string_view bytes);

}  // namespace voxgate

#endif  // VOXGATE_COMMON_JSON_LIMITS_H_
