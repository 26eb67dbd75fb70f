#include "config/yaml_proto.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "yaml-cpp/yaml.h"

namespace voxgate {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::Status Error(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path.empty() ? "(top level)" : path, ": ", what));
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return absl::StrCat("\"", node.Scalar(), "\"");
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

absl::Status ExpectScalar(const YAML::Node& node, const std::string& path,
                          absl::string_view wanted) {
  if (node.IsScalar()) return absl::OkStatus();
  return Error(path,
               absl::StrCat("expected ", wanted, ", got ", Describe(node)));
}

// Accepts "PROTOCOL_OPENAI_CHAT", "openai_chat" or "OPENAI_CHAT" for an enum
// whose values share the prefix "PROTOCOL_".
const EnumValueDescriptor* FindEnumValue(const EnumDescriptor& type,
                                         absl::string_view text) {
  const std::string upper = absl::AsciiStrToUpper(text);
  if (const auto* value = type.FindValueByName(upper)) return value;
  for (int i = 0; i < type.value_count(); ++i) {
    const std::string& name = type.value(i)->name();
    if (name.size() > upper.size() &&
        name.compare(name.size() - upper.size(), upper.size(), upper) == 0 &&
        name[name.size() - upper.size() - 1] == '_') {
      return type.value(i);
    }
  }
  return nullptr;
}

// The value names without the prefix the enum's values share ("PROTOCOL_"),
// which the zero value "PROTOCOL_UNSPECIFIED" shows.
std::string EnumChoices(const EnumDescriptor& type) {
  const std::string& zero = type.value(0)->name();
  const std::size_t prefix = absl::EndsWith(zero, "UNSPECIFIED")
                                 ? zero.size() - strlen("UNSPECIFIED")
                                 : 0;
  std::string out;
  for (int i = 1; i < type.value_count(); ++i) {
    absl::StrAppend(
        &out, i > 1 ? ", " : "",
        absl::AsciiStrToLower(type.value(i)->name().substr(prefix)));
  }
  return out;
}

absl::Status ParseMessage(const YAML::Node& node, Message& message,
                          const std::string& path);

absl::Status ParseDuration(const YAML::Node& node, Message& message,
                           const std::string& path) {
  RETURN_IF_ERROR(ExpectScalar(node, path, "a duration such as \"30s\""));
  absl::Duration duration;
  if (!absl::ParseDuration(node.Scalar(), &duration) ||
      duration < absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
    return Error(path, absl::StrCat("expected a duration such as \"30s\" or "
                                    "\"250ms\", got \"",
                                    node.Scalar(), "\""));
  }
  auto& proto = static_cast<google::protobuf::Duration&>(message);
  const int64_t seconds =
      absl::IDivDuration(duration, absl::Seconds(1), &duration);
  proto.set_seconds(seconds);
  proto.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
  return absl::OkStatus();
}

template <typename Int>
absl::Status ParseInteger(const YAML::Node& node, const std::string& path,
                          absl::string_view kind, Int* out) {
  RETURN_IF_ERROR(ExpectScalar(node, path, kind));
  int64_t wide = 0;
  uint64_t uwide = 0;
  bool ok;
  if constexpr (std::is_signed_v<Int>) {
    ok = absl::SimpleAtoi(node.Scalar(), &wide) &&
         wide >= std::numeric_limits<Int>::min() &&
         wide <= std::numeric_limits<Int>::max();
    *out = static_cast<Int>(wide);
  } else {
    ok = absl::SimpleAtoi(node.Scalar(), &uwide) &&
         uwide <= std::numeric_limits<Int>::max();
    *out = static_cast<Int>(uwide);
  }
  if (!ok) {
    return Error(path,
                 absl::StrCat("expected ", kind, ", got ", Describe(node)));
  }
  return absl::OkStatus();
}

// Sets one value of `field` (appending when repeated).
absl::Status ParseValue(const YAML::Node& node, Message& message,
                        const FieldDescriptor& field, const std::string& path) {
  const Reflection& reflection = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* child = repeated ? reflection.AddMessage(&message, &field)
                                : reflection.MutableMessage(&message, &field);
      return ParseMessage(node, *child, path);
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      RETURN_IF_ERROR(ExpectScalar(node, path, "a string"));
      repeated ? reflection.AddString(&message, &field, node.Scalar())
               : reflection.SetString(&message, &field, node.Scalar());
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      RETURN_IF_ERROR(ExpectScalar(node, path, "true or false"));
      bool value;
      if (!YAML::convert<bool>::decode(node, value)) {
        return Error(
            path, absl::StrCat("expected true or false, got ", Describe(node)));
      }
      repeated ? reflection.AddBool(&message, &field, value)
               : reflection.SetBool(&message, &field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t value;
      RETURN_IF_ERROR(ParseInteger(node, path, "an integer", &value));
      repeated ? reflection.AddInt32(&message, &field, value)
               : reflection.SetInt32(&message, &field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t value;
      RETURN_IF_ERROR(ParseInteger(node, path, "an integer", &value));
      repeated ? reflection.AddInt64(&message, &field, value)
               : reflection.SetInt64(&message, &field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t value;
      RETURN_IF_ERROR(ParseInteger(node, path, "an unsigned integer", &value));
      repeated ? reflection.AddUInt32(&message, &field, value)
               : reflection.SetUInt32(&message, &field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t value;
      RETURN_IF_ERROR(ParseInteger(node, path, "an unsigned integer", &value));
      repeated ? reflection.AddUInt64(&message, &field, value)
               : reflection.SetUInt64(&message, &field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      RETURN_IF_ERROR(ExpectScalar(node, path, "a number"));
      double value;
      if (!absl::SimpleAtod(node.Scalar(), &value)) {
        return Error(path,
                     absl::StrCat("expected a number, got ", Describe(node)));
      }
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
        repeated
            ? reflection.AddFloat(&message, &field, static_cast<float>(value))
            : reflection.SetFloat(&message, &field, static_cast<float>(value));
      } else {
        repeated ? reflection.AddDouble(&message, &field, value)
                 : reflection.SetDouble(&message, &field, value);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumDescriptor& type = *field.enum_type();
      RETURN_IF_ERROR(
          ExpectScalar(node, path, absl::StrCat("one of ", EnumChoices(type))));
      const EnumValueDescriptor* value = FindEnumValue(type, node.Scalar());
      if (value == nullptr || value->number() == 0) {
        return Error(path, absl::StrCat("expected one of ", EnumChoices(type),
                                        ", got ", Describe(node)));
      }
      repeated ? reflection.AddEnum(&message, &field, value)
               : reflection.SetEnum(&message, &field, value);
      return absl::OkStatus();
    }
  }
  return Error(path, "unsupported field type");
}

absl::Status ParseMap(const YAML::Node& node, Message& message,
                      const FieldDescriptor& field, const std::string& path) {
  if (!node.IsMap()) {
    return Error(path,
                 absl::StrCat("expected a mapping, got ", Describe(node)));
  }
  const Descriptor& entry_type = *field.message_type();
  const FieldDescriptor& key_field = *entry_type.map_key();
  const FieldDescriptor& value_field = *entry_type.map_value();
  for (const auto& item : node) {
    const std::string key = item.first.as<std::string>();
    const std::string item_path = absl::StrCat(path, ".", key);
    Message* entry = message.GetReflection()->AddMessage(&message, &field);
    RETURN_IF_ERROR(ParseValue(item.first, *entry, key_field, item_path));
    RETURN_IF_ERROR(ParseValue(item.second, *entry, value_field, item_path));
  }
  return absl::OkStatus();
}

absl::Status ParseMessage(const YAML::Node& node, Message& message,
                          const std::string& path) {
  const Descriptor& type = *message.GetDescriptor();
  if (type.full_name() == "google.protobuf.Duration") {
    return ParseDuration(node, message, path);
  }
  if (node.IsNull()) return absl::OkStatus();  // "key:" with nothing after it
  if (!node.IsMap()) {
    return Error(path,
                 absl::StrCat("expected a mapping, got ", Describe(node)));
  }
  for (const auto& item : node) {
    const std::string key = item.first.as<std::string>();
    const std::string field_path =
        path.empty() ? key : absl::StrCat(path, ".", key);
    const FieldDescriptor* field = type.FindFieldByName(key);
    if (field == nullptr) return Error(field_path, "unknown key");
    if (field->is_map()) {
      RETURN_IF_ERROR(ParseMap(item.second, message, *field, field_path));
    } else if (field->is_repeated()) {
      if (!item.second.IsSequence()) {
        return Error(field_path, absl::StrCat("expected a list, got ",
                                              Describe(item.second)));
      }
      for (std::size_t i = 0; i < item.second.size(); ++i) {
        RETURN_IF_ERROR(ParseValue(item.second[i], message, *field,
                                   absl::StrCat(field_path, "[", i, "]")));
      }
    } else {
      RETURN_IF_ERROR(ParseValue(item.second, message, *field, field_path));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseYamlIntoMessage(absl::string_view yaml, Message& message) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports errors by exception; this is its library boundary.
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ", e.msg));
  }
  try {
    return ParseMessage(root, message, "");
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", e.mark.line + 1, ": ", e.msg));
  }
}

}  // namespace voxgate
