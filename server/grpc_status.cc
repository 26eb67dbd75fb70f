#include "server/grpc_status.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace voxgate::server {
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

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      ScrubSecrets(status.message()));
}

}  // namespace voxgate::server
