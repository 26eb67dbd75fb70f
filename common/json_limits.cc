#include "common/json_limits.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace voxgate {
namespace {

// Counts depth, values and string sizes; returns false (which stops the
// parser) at the first limit broken, remembering which.
class LimitCheck final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit LimitCheck(const JsonLimits& limits) : limits_(limits) {}

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override {
    return Value();
  }
  bool string(string_t& text) override { return Text(text) && Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override { return Value() && Enter(); }
  bool key(string_t& text) override { return Text(text); }
  bool end_object() override { return Leave(); }
  bool start_array(std::size_t) override { return Value() && Enter(); }
  bool end_array() override { return Leave(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    error_position_ = position;
    return false;
  }

  // Empty when no limit was broken.
  const std::string& broken() const { return broken_; }
  bool too_deep() const { return too_deep_; }
  std::size_t error_position() const { return error_position_; }

 private:
  bool Value() {
    if (++elements_ <= limits_.max_elements) return true;
    broken_ = absl::StrCat("more than ", limits_.max_elements, " values");
    return false;
  }
  bool Text(const string_t& text) {
    if (text.size() <= limits_.max_string_bytes) return true;
    broken_ = absl::StrCat("a string over ", limits_.max_string_bytes,
                           " bytes");
    return false;
  }
  bool Enter() {
    if (++depth_ <= limits_.max_depth) return true;
    too_deep_ = true;
    broken_ = absl::StrCat("nested deeper than ", limits_.max_depth, " levels");
    return false;
  }
  bool Leave() {
    --depth_;
    return true;
  }

  const JsonLimits& limits_;
  int depth_ = 0;
  int64_t elements_ = 0;
  bool too_deep_ = false;
  std::string broken_;
  std::size_t error_position_ = 0;
};

bool SaxCheck(absl::string_view text, LimitCheck& check) {
  // sax_parse does not throw with a handler whose parse_error returns false,
  // and it keeps its own stack: deep input cannot overflow ours.
  return nlohmann::json::sax_parse(text.begin(), text.end(), &check,
                                   nlohmann::json::input_format_t::json,
                                   /*strict=*/true);
}

// The length of the valid UTF-8 sequence at the start of `bytes`, or 0.
std::size_t ValidSequenceLength(absl::string_view bytes) {
  const auto byte = [&](std::size_t i) {
    return static_cast<unsigned char>(bytes[i]);
  };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xBF;  // bounds of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (bytes.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

JsonShape InspectJson(absl::string_view text, int max_depth) {
  JsonLimits limits;
  limits.max_depth = max_depth;
  limits.max_elements = INT64_MAX;
  limits.max_string_bytes = SIZE_MAX;
  LimitCheck check(limits);
  const bool parsed = SaxCheck(text, check);
  if (check.too_deep()) return JsonShape::kTooDeep;
  return parsed ? JsonShape::kValid : JsonShape::kNotJson;
}

absl::Status CheckJson(absl::string_view text, absl::string_view what,
                       const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": over ", limits.max_bytes, " bytes of JSON"));
  }
  LimitCheck check(limits);
  if (SaxCheck(text, check)) return absl::OkStatus();
  if (!check.broken().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", check.broken()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": not a JSON document (at byte ",
                   check.error_position(), ")"));
}

absl::StatusOr<nlohmann::json> ParseCallerJson(absl::string_view text,
                                               absl::string_view what,
                                               const JsonLimits& limits) {
  if (absl::Status checked = CheckJson(text, what, limits); !checked.ok()) {
    return checked;
  }
  nlohmann::json tree = nlohmann::json::parse(text.begin(), text.end(),
                                              nullptr,
                                              /*allow_exceptions=*/false);
  if (tree.is_discarded()) {  // cannot happen after a clean SAX pass
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not a JSON document"));
  }
  return tree;
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ValidUtf8(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    const std::size_t length = ValidSequenceLength(bytes);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      bytes.remove_prefix(1);
    } else {
      out.append(bytes.data(), length);
      bytes.remove_prefix(length);
    }
  }
  return out;
}

}  // namespace voxgate
