#ifndef VOXGATE_HTTP_BROWSER_GUARD_H_
#define VOXGATE_HTTP_BROWSER_GUARD_H_

// What keeps a web page from driving the gateway through a visitor's
// browser. A gateway without keys on a developer's machine is reachable by
// any page the developer opens: by DNS rebinding (a page's own name made to
// resolve to 127.0.0.1; the request carries that name as its Host), or by a
// cross-site "simple" POST (text/plain or a form, sent without a CORS
// preflight). Pure functions.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace voxgate::http {

// The Host a keyless gateway answers: IP literals, single-label names, and
// names `allowed` lists ("name", ".suffix", or "*"); an empty `allowed` means
// kDefaultAllowedHosts. PERMISSION_DENIED naming http.allowed_hosts.
absl::Status CheckHost(absl::string_view host_header,
                       const std::vector<std::string>& allowed);

inline const std::vector<std::string>& DefaultAllowedHosts() {
  static const auto* const kDefault = new std::vector<std::string>{
      "localhost", ".localhost", ".local", ".internal", ".svc",
      ".cluster.local"};
  return *kDefault;
}

// Whether `content_type` is application/json (any parameters): JSON routes
// take nothing else (415), so a cross-site page cannot send them a body
// without a CORS preflight.
bool IsJsonContentType(absl::string_view content_type);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_BROWSER_GUARD_H_
