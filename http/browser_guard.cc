#include "http/browser_guard.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace voxgate::http {
namespace {

// "name:port", "[v6]:port", "v4" -> the name or address alone.
std::string HostName(absl::string_view header) {
  if (absl::StartsWith(header, "[")) {
    const std::size_t close = header.find(']');
    return std::string(header.substr(1, close == absl::string_view::npos
                                            ? absl::string_view::npos
                                            : close - 1));
  }
  const std::size_t colon = header.find(':');
  // More than one colon: an unbracketed IPv6 literal.
  if (colon != absl::string_view::npos &&
      header.find(':', colon + 1) == absl::string_view::npos) {
    header = header.substr(0, colon);
  }
  std::string name = absl::AsciiStrToLower(header);
  if (absl::EndsWith(name, ".")) name.pop_back();  // "localhost."
  return name;
}

bool IsIpLiteral(const std::string& name) {
  unsigned char address[16];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

}  // namespace

absl::Status CheckHost(absl::string_view host_header,
                       const std::vector<std::string>& allowed) {
  const std::string name = HostName(host_header);
  if (!name.empty() &&
      (IsIpLiteral(name) || name.find('.') == std::string::npos)) {
    // Rebinding needs a name the attacker's DNS answers: a dotted one.
    return absl::OkStatus();
  }
  for (const std::string& entry :
       allowed.empty() ? DefaultAllowedHosts() : allowed) {
    if (entry == "*" || entry == name) return absl::OkStatus();
    if (absl::StartsWith(entry, ".") && absl::EndsWith(name, entry)) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "Host \"", name.substr(0, 100),
      "\" is not one this gateway answers without keys (a page could reach "
      "it by DNS rebinding); add it to http.allowed_hosts, or configure "
      "auth.keys_file"));
}

bool IsJsonContentType(absl::string_view content_type) {
  const absl::string_view type =
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';')));
  return absl::EqualsIgnoreCase(type, "application/json");
}

}  // namespace voxgate::http
