#ifndef VOXGATE_COMMON_JSON_READER_H_
#define VOXGATE_COMMON_JSON_READER_H_

// Typed reads of a caller's JSON object, the only way request mappings read
// caller JSON: nlohmann's value() and get<>() throw on a wrong type, and an
// exception on an I/O thread ends the process. Every refusal is
// INVALID_ARGUMENT naming the field as the caller spells it
// ("messages[0].role: must be a string, got number"). A null counts as
// absent: OpenAI documents its optional fields as nullable, and clients send
// `"strict": null`.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace voxgate {

class JsonReader {
 public:
  // INVALID_ARGUMENT "<path>: must be an object" unless `value` is one.
  // `value` must outlive the reader. An empty path names fields bare.
  static absl::StatusOr<JsonReader> Object(const nlohmann::json& value,
                                           std::string path);

  const nlohmann::json& json() const { return *object_; }
  const std::string& path() const { return path_; }
  // The name of field `key` ("messages[0].role", or "model" at the top).
  std::string Field(absl::string_view key) const;

  // The field's value, or null when absent or null.
  const nlohmann::json* Find(absl::string_view key) const;

  absl::StatusOr<std::optional<std::string>> OptionalString(
      absl::string_view key) const;
  absl::StatusOr<std::string> String(absl::string_view key,
                                     std::string fallback = "") const;
  absl::StatusOr<std::optional<bool>> OptionalBool(absl::string_view key) const;
  absl::StatusOr<bool> Bool(absl::string_view key, bool fallback) const;
  // A finite number.
  absl::StatusOr<std::optional<double>> Number(absl::string_view key) const;
  // An integer within int64.
  absl::StatusOr<std::optional<int64_t>> Integer(absl::string_view key) const;
  // A nested object (nullopt when absent or null).
  absl::StatusOr<std::optional<JsonReader>> OptionalObject(
      absl::string_view key) const;
  // The array, or null when absent or null; INVALID_ARGUMENT for any other
  // type.
  absl::StatusOr<const nlohmann::json*> Array(absl::string_view key) const;

 private:
  JsonReader(const nlohmann::json& object, std::string path)
      : object_(&object), path_(std::move(path)) {}

  absl::Status WrongType(absl::string_view key, absl::string_view wanted,
                         const nlohmann::json& got) const;

  const nlohmann::json* object_;
  std::string path_;
};

// "messages[3]": the name of element `index` of array field `field`.
std::string ElementName(absl::string_view field, std::size_t index);

}  // namespace voxgate

#endif  // VOXGATE_COMMON_JSON_READER_H_
