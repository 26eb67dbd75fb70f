#include "call/status_details.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/retry_info.h"
#include "google/protobuf/any.pb.h"

namespace voxgate::call {
namespace {

constexpr absl::string_view kRedacted = "[redacted]";

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
         c == '~' || c == '+' || c == '/' || c == '=';
}

// Replaces the token after each case-insensitive occurrence of `marker`.
std::string RedactAfter(absl::string_view text, absl::string_view marker) {
  std::string out;
  std::size_t pos = 0;
  const std::string lower = absl::AsciiStrToLower(text);
  const std::string lower_marker = absl::AsciiStrToLower(marker);
  while (true) {
    const std::size_t hit = lower.find(lower_marker, pos);
    if (hit == std::string::npos) break;
    std::size_t end = hit + marker.size();
    absl::StrAppend(&out, text.substr(pos, end - pos));
    const std::size_t token_start = end;
    while (end < text.size() && IsTokenChar(text[end])) ++end;
    if (end > token_start) absl::StrAppend(&out, kRedacted);
    pos = end;
  }
  absl::StrAppend(&out, text.substr(pos));
  return out;
}

// "https://user:secret@host/" -> "https://[redacted]@host/".
std::string RedactUserInfo(absl::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t scheme = text.find("://", pos);
    if (scheme == absl::string_view::npos) break;
    const std::size_t authority = scheme + 3;
    std::size_t end = authority;
    while (end < text.size() && text[end] != '/' && text[end] != '@' &&
           !absl::ascii_isspace(text[end])) {
      ++end;
    }
    absl::StrAppend(&out, text.substr(pos, authority - pos));
    if (end < text.size() && text[end] == '@') {
      absl::StrAppend(&out, kRedacted);
      pos = end;
    } else {
      pos = authority;
    }
  }
  absl::StrAppend(&out, text.substr(pos));
  return out;
}

}  // namespace

std::string ScrubSecrets(absl::string_view text) {
  std::string out = RedactUserInfo(text);
  for (absl::string_view marker :
       {"bearer ", "api_key=", "api-key: ", "x-api-key: "}) {
    out = RedactAfter(out, marker);
  }
  return out;
}

google::rpc::Status StatusToProto(const absl::Status& status) {
  google::rpc::Status proto;
  proto.set_code(static_cast<int>(status.code()));
  if (status.ok()) return proto;
  proto.set_message(ScrubSecrets(status.message()));
  // RetryInfo rides in the details, as Google's APIs send it; the payload is
  // the serialized RetryInfo already.
  if (const auto retry_info = status.GetPayload(kRetryInfoTypeUrl)) {
    google::protobuf::Any* any = proto.add_details();
    any->set_type_url(kRetryInfoTypeUrl);
    any->set_value(std::string(*retry_info));
  }
  return proto;
}

}  // namespace voxgate::call
