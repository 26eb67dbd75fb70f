#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "upstream/openai_json_fields.h"
#include "upstream/openai_protocol.h"

namespace voxgate::upstream {

using openai_fields::Json;
using openai_fields::StringOr;

std::string Excerpt(absl::string_view text, std::size_t max_bytes) {
  std::string out;
  for (char c : text.substr(0, max_bytes)) {
    out.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : ' ');
  }
  if (text.size() > max_bytes) out.append("...");
  return out;
}

bool SaysCapabilityIsMissing(absl::string_view detail) {
  const std::string lower = absl::AsciiStrToLower(detail);
  for (absl::string_view phrase :
       {"not supported", "unsupported", "does not support", "not implemented",
        "not enabled"}) {
    if (absl::StrContains(lower, phrase)) return true;
  }
  return false;
}

absl::Status HttpErrorStatus(absl::string_view where, int status_code,
                             absl::string_view body) {
  std::string detail;
  const Json json = Json::parse(body.begin(), body.end(), nullptr, false);
  if (json.is_object() && json.contains("error")) {
    const Json& error = json["error"];
    detail =
        error.is_object() ? StringOr(error, "message") : Excerpt(error.dump());
  } else {
    detail = Excerpt(body);
  }
  const std::string message = absl::StrCat(where, " answered HTTP ",
                                           status_code, ": ", Excerpt(detail));
  switch (status_code) {
    case 400:
    case 413:
    case 415:
    case 422:
      return absl::InvalidArgumentError(message);
    case 401:
    case 403:
      return absl::FailedPreconditionError(
          absl::StrCat(message, " (check the pool's API key)"));
    case 404:
      return absl::NotFoundError(message);
    case 408:
    case 429:
      return absl::ResourceExhaustedError(message);
    case 500:
    case 501:
      // A server that lacks a capability (llama-server without a multimodal
      // projector: "audio input is not supported") answers 500 or 501; that
      // is permanent, so not a retryable UNAVAILABLE.
      if (status_code == 501 || SaysCapabilityIsMissing(detail)) {
        return absl::FailedPreconditionError(absl::StrCat(
            message, " (the pool's server or model cannot do this)"));
      }
      // Failed on this request: not a sign the server is down.
      return absl::InternalError(message);
    default:
      return status_code >= 500 ? absl::UnavailableError(message)
                                : absl::InternalError(message);
  }
}

bool IsRetryableHttpStatus(int status_code) {
  return status_code == 429 || status_code == 502 || status_code == 503 ||
         status_code == 504;
}

}  // namespace voxgate::upstream
