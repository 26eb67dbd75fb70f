#ifndef VOXGATE_COMMON_PEER_IDENTITY_H_
#define VOXGATE_COMMON_PEER_IDENTITY_H_

// The identity of a verified client certificate, one rule for every door
// (gRPC reads the names from its auth context, HTTP from the certificate),
// so a certificate is the same tenant on both.

#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace voxgate {

// Its SPIFFE ID when exactly one URI SAN is one ("spiffe://..."; several
// make none the ID, as gRPC rules), else its first URI SAN, else its first
// DNS SAN, else its subject's common name; "" when it has none.
inline std::string ClientCertificateIdentity(
    const std::vector<std::string>& uri_sans,
    const std::vector<std::string>& dns_sans, const std::string& common_name) {
  const std::string* spiffe = nullptr;
  int spiffe_ids = 0;
  for (const std::string& uri : uri_sans) {
    if (absl::StartsWith(uri, "spiffe://") && spiffe_ids++ == 0) spiffe = &uri;
  }
  if (spiffe_ids == 1) return *spiffe;
  if (!uri_sans.empty()) return uri_sans.front();
  if (!dns_sans.empty()) return dns_sans.front();
  return common_name;
}

}  // namespace voxgate

#endif  // VOXGATE_COMMON_PEER_IDENTITY_H_
