#include "operations/field_checks.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/json_limits.h"

namespace voxgate::operations {

absl::Status CheckBackendOptions(
    const google::protobuf::Map<std::string, std::string>& options,
    absl::string_view field, const std::set<absl::string_view>& owned,
    std::size_t max_value) {
  if (options.size() > 32) return FieldError(field, "at most 32 entries");
  for (const auto& [key, value] : options) {
    const std::string entry = absl::StrCat(field, ".", key);
    if (key.empty() || key.size() > 64 || value.size() > max_value) {
      return FieldError(entry,
                        absl::StrCat("keys 1 to 64 characters, values up to ",
                                     max_value, " bytes"));
    }
    // A key becomes a JSON member or a multipart field name upstream: a NUL
    // or a quote there could forge a second field ("model\0").
    if (!std::all_of(key.begin(), key.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                 c == '_' || c == '-' || c == '.';
        })) {
      return FieldError(absl::StrCat(field, "[\"", absl::CHexEscape(key), "\"]"),
                        "keys may hold only letters, digits, '_', '-' and "
                        "'.'");
    }
    if (owned.count(key)) {
      return FieldError(entry,
                        "is set by the gateway from the request's own fields; "
                        "use those (backend_options may only add fields)");
    }
    if (InspectJson(value, kMaxOptionDepth) == JsonShape::kTooDeep) {
      return FieldError(entry, absl::StrCat("JSON nested deeper than ",
                                            kMaxOptionDepth, " levels"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckJsonDocument(absl::string_view field, const std::string& text,
                               std::size_t max_bytes, bool required) {
  if (text.empty()) {
    return required ? FieldError(field, "is required") : absl::OkStatus();
  }
  if (text.size() > max_bytes) {
    return FieldError(
        field, absl::StrCat("up to ", max_bytes, " bytes, got ", text.size()));
  }
  switch (InspectJson(text, kMaxSchemaDepth)) {
    case JsonShape::kValid:
      return absl::OkStatus();
    case JsonShape::kTooDeep:
      return FieldError(field, absl::StrCat("nested deeper than ",
                                            kMaxSchemaDepth, " levels"));
    case JsonShape::kNotJson:
      break;
  }
  return FieldError(field, "not a JSON document");
}

double MeantValue(float value) {
  char text[32];
  const std::to_chars_result written =
      std::to_chars(text, text + sizeof(text) - 1, value);
  if (written.ec != std::errc()) return value;
  *written.ptr = '\0';
  return std::strtod(text, nullptr);
}

}  // namespace voxgate::operations
