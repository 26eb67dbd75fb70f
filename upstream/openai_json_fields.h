#ifndef VOXGATE_UPSTREAM_OPENAI_JSON_FIELDS_H_
#define VOXGATE_UPSTREAM_OPENAI_JSON_FIELDS_H_

// Lenient field readers shared by the OpenAI wire formats: servers that call
// themselves OpenAI-compatible omit, rename and mistype fields, so a missing or
// mistyped field reads as its fallback instead of failing the whole answer.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "upstream/types.h"

namespace voxgate::upstream::openai_fields {

using Json = nlohmann::json;

// INTERNAL: "upstream answered something that is not <what>: <excerpt>".
absl::Status NotA(absl::string_view what, absl::string_view body);

// object[key] when it is a number (a string), else the fallback ("").
double NumberOr(const Json& object, const char* key, double fallback);
std::string StringOr(const Json& object, const char* key);

// "en-US" -> "en": OpenAI-compatible servers take ISO-639-1.
std::string PrimaryLanguage(const std::string& code);

// Token usage of a chat answer, or a transcription's duration or token usage.
Usage ParseTokenUsage(const Json& usage);

}  // namespace voxgate::upstream::openai_fields

#endif  // VOXGATE_UPSTREAM_OPENAI_JSON_FIELDS_H_
