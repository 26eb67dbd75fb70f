#ifndef VOXGATE_OPERATIONS_FIELD_CHECKS_H_
#define VOXGATE_OPERATIONS_FIELD_CHECKS_H_

// Validation helpers of the public API's mapping: every refusal is
// INVALID_ARGUMENT and names the field ("generation.top_p: must be between 0
// and 1, got 3").

#include <cstddef>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace voxgate::operations {

// Levels of nesting allowed in caller-supplied JSON: deeper documents are
// refused before anything builds or serializes them (both recurse per level).
inline constexpr int kMaxOptionDepth = 32;
inline constexpr int kMaxSchemaDepth = 64;

inline absl::Status FieldError(absl::string_view field,
                               absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

template <typename T>
absl::Status CheckRange(absl::string_view field, T value, T low, T high) {
  // Written so that NaN, which compares false with everything, is refused.
  if (!(value >= low && value <= high)) {
    return FieldError(field, absl::StrCat("must be between ", low, " and ",
                                          high, ", got ", value));
  }
  return absl::OkStatus();
}

// backend_options: at most 32 entries, sizes bounded, no key the gateway owns,
// and values that are JSON nested at most kMaxOptionDepth deep.
absl::Status CheckBackendOptions(
    const google::protobuf::Map<std::string, std::string>& options,
    absl::string_view field, const std::set<absl::string_view>& owned,
    std::size_t max_value);

// A caller's JSON document (a schema): present when `required`, at most
// `max_bytes`, valid JSON nested at most kMaxSchemaDepth levels.
absl::Status CheckJsonDocument(absl::string_view field, const std::string& text,
                               std::size_t max_bytes, bool required);

// The decimal value a caller meant by a float field: 0.7f is 0.699999988 when
// widened, but its shortest decimal form is "0.7", which is what upstreams
// should get.
double MeantValue(float value);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_FIELD_CHECKS_H_
