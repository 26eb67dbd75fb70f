#include "upstream/openai_json_fields.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "upstream/openai_protocol.h"

namespace voxgate::upstream::openai_fields {

absl::Status NotA(absl::string_view what, absl::string_view body) {
  return absl::InternalError(absl::StrCat(
      "upstream answered something that is not ", what, ": ", Excerpt(body)));
}

std::string PrimaryLanguage(const std::string& code) {
  return absl::AsciiStrToLower(code.substr(0, code.find('-')));
}

double NumberOr(const Json& object, const char* key, double fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string StringOr(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

Usage ParseTokenUsage(const Json& usage) {
  Usage result;
  if (!usage.is_object()) return result;
  result.input_tokens =
      static_cast<int64_t>(NumberOr(usage, "prompt_tokens", 0));
  result.output_tokens =
      static_cast<int64_t>(NumberOr(usage, "completion_tokens", 0));
  result.total_tokens =
      static_cast<int64_t>(NumberOr(usage, "total_tokens", 0));
  if (auto details = usage.find("prompt_tokens_details");
      details != usage.end() && details->is_object()) {
    result.audio_tokens =
        static_cast<int64_t>(NumberOr(*details, "audio_tokens", 0));
  }
  // OpenAI transcription usage: {"type": "duration", "seconds": N} or token
  // counts.
  if (StringOr(usage, "type") == "duration") {
    result.audio_seconds = NumberOr(usage, "seconds", 0);
  } else if (usage.contains("input_tokens")) {
    result.input_tokens =
        static_cast<int64_t>(NumberOr(usage, "input_tokens", 0));
    result.output_tokens =
        static_cast<int64_t>(NumberOr(usage, "output_tokens", 0));
  }
  return result;
}

}  // namespace voxgate::upstream::openai_fields
