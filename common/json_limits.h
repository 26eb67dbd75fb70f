#ifndef VOXGATE_COMMON_JSON_LIMITS_H_
#define VOXGATE_COMMON_JSON_LIMITS_H_

#include "absl/strings/string_view.h"

namespace voxgate {

// How JSON text from a caller looks, found without building a tree (which,
// like serializing it, recurses once per level: 100,000 nested brackets in 200
// KB overflow the stack).
enum class JsonShape {
  kValid,    // JSON, nested at most max_depth deep
  kTooDeep,  // JSON-like, nested deeper than max_depth
  kNotJson,  // not a JSON document
};

// Reads `text` with nlohmann's SAX parser, stopping at the first level beyond
// `max_depth` (arrays and objects each count one level).
JsonShape InspectJson(absl::string_view text, int max_depth);

}  // namespace voxgate

#endif  // VOXGATE_COMMON_JSON_LIMITS_H_
