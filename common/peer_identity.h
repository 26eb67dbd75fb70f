#ifndef VOXGATE_COMMON_PEER_IDENTITY_H_
#define VOXGATE_COMMON_PEER_IDENTITY_H_

// The identity of a verified client certificate, one rule for every door
// (gRPC reads the names from its auth context, HTTP from the certificate),
// so a certificate is the same tenant on both.

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace voxgate {

// Its identity, typed so that names of different kinds never match each
// other (a CN "example.com" is not the DNS name example.com): its SPIFFE ID
// when exactly one URI SAN is one ("spiffe://...", typed by its scheme;
// several make none the ID, as gRPC rules), else "uri:" and its first URI
// SAN, else "dns:" and its first DNS SAN, else "cn:" and its subject's common
// name; "" when it has none.
inline std::string ClientCertificateIdentity(
    const std::vector<std::string>& uri_sans,
    const std::vector<std::string>& dns_sans, const std::string& common_name) {
  const std::string* spiffe = nullptr;
  int spiffe_ids = 0;
  for (const std::string& uri : uri_sans) {
    if (absl::StartsWith(uri, "spiffe://") && spiffe_ids++ == 0) spiffe = &uri;
  }
  if (spiffe_ids == 1) return *spiffe;
  if (!uri_sans.empty()) return "uri:" + uri_sans.front();
  if (!dns_sans.empty()) return "dns:" + dns_sans.front();
  if (!common_name.empty()) return "cn:" + common_name;
  return "";
}

// Whether `identity` (as a keys file lists it) says its kind, as
// ClientCertificateIdentity gives them.
inline bool IsTypedIdentity(const std::string& identity) {
  for (const char* kind : {"spiffe://", "uri:", "dns:", "cn:"}) {
    if (absl::StartsWith(identity, kind) && identity.size() > strlen(kind))
      return true;
  }
  return false;
}

}  // namespace voxgate

#endif  // VOXGATE_COMMON_PEER_IDENTITY_H_
