#include "common/json_reader.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace voxgate {

absl::StatusOr<JsonReader> JsonReader::Object(const nlohmann::json& value,
                                              std::string path) {
  if (!value.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path.empty() ? "the body" : path, ": must be an object, got ",
        value.type_name()));
  }
  return JsonReader(value, std::move(path));
}

std::string JsonReader::Field(absl::string_view key) const {
  return path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
}

const nlohmann::json* JsonReader::Find(absl::string_view key) const {
  // nlohmann 3.11's find takes a key type it can compare; a std::string
  // avoids the templated overloads' surprises with string_view.
  auto it = object_->find(std::string(key));
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

absl::Status JsonReader::WrongType(absl::string_view key,
                                   absl::string_view wanted,
                                   const nlohmann::json& got) const {
  return absl::InvalidArgumentError(absl::StrCat(
      Field(key), ": must be ", wanted, ", got ", got.type_name()));
}

absl::StatusOr<std::optional<std::string>> JsonReader::OptionalString(
    absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) return WrongType(key, "a string", *value);
  return std::optional<std::string>(value->get_ref<const std::string&>());
}

absl::StatusOr<std::string> JsonReader::String(absl::string_view key,
                                               std::string fallback) const {
  absl::StatusOr<std::optional<std::string>> value = OptionalString(key);
  if (!value.ok()) return value.status();
  return value->has_value() ? **std::move(value) : std::move(fallback);
}

absl::StatusOr<std::optional<bool>> JsonReader::OptionalBool(
    absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::optional<bool>();
  if (!value->is_boolean()) return WrongType(key, "a boolean", *value);
  return std::optional<bool>(value->get<bool>());
}

absl::StatusOr<bool> JsonReader::Bool(absl::string_view key,
                                      bool fallback) const {
  absl::StatusOr<std::optional<bool>> value = OptionalBool(key);
  if (!value.ok()) return value.status();
  return value->value_or(fallback);
}

absl::StatusOr<std::optional<double>> JsonReader::Number(
    absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::optional<double>();
  if (!value->is_number()) return WrongType(key, "a number", *value);
  const double number = value->get<double>();
  if (!std::isfinite(number)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Field(key), ": must be a finite number"));
  }
  return std::optional<double>(number);
}

absl::StatusOr<std::optional<int64_t>> JsonReader::Integer(
    absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::optional<int64_t>();
  if (!value->is_number_integer()) return WrongType(key, "an integer", *value);
  if (value->is_number_unsigned() &&
      value->get<uint64_t>() >
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat(Field(key), ": out of range"));
  }
  return std::optional<int64_t>(value->get<int64_t>());
}

absl::StatusOr<std::optional<JsonReader>> JsonReader::OptionalObject(
    absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return std::optional<JsonReader>();
  if (!value->is_object()) return WrongType(key, "an object", *value);
  return std::optional<JsonReader>(JsonReader(*value, Field(key)));
}

absl::StatusOr<const nlohmann::json*> JsonReader::Array(
    absl::string_view key) const {
  const nlohmann::json* value = Find(key);
  if (value == nullptr) return value;
  if (!value->is_array()) return WrongType(key, "an array", *value);
  return value;
}

std::string ElementName(absl::string_view field, std::size_t index) {
  return absl::StrCat(field, "[", index, "]");
}

}  // namespace voxgate
