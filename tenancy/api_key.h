#ifndef VOXGATE_TENANCY_API_KEY_H_
#define VOXGATE_TENANCY_API_KEY_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace voxgate::tenancy {

// API keys look like "vxg_<id>_<secret>": a 12-hex-digit public id, for lookup
// and revocation, and a 64-hex-digit secret (256 random bits). The keys file
// stores only "sha256:<salt hex>:<digest hex>", digest = SHA-256(salt ||
// secret): the secret is random, so a fast salted hash suffices (no password
// stretching), and the salt keeps equal digests from revealing equal keys.

struct MintedKey {
  std::string key;  // shown once to whoever asked for it
  std::string id;
  std::string hash;  // what the keys file holds
};

// Whether `name` may name a tenant: 1 to 64 of [a-z0-9_.-] (it becomes a
// metric label and a Redis key part).
bool IsValidTenantName(absl::string_view name);

// A new key from the system's cryptographic random source.
MintedKey MintKey();

struct PresentedKey {
  absl::string_view id;
  absl::string_view secret;
};

// Splits a presented key; nullopt when it is not shaped like one.
std::optional<PresentedKey> ParseKey(absl::string_view key);

// INVALID_ARGUMENT saying what is wrong with a keys file's `hash` value.
absl::Status ValidateHash(absl::string_view hash);

// Whether `secret` hashes to `hash` (a valid hash value); the digests are
// compared in constant time.
bool SecretMatches(absl::string_view secret, absl::string_view hash);

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_API_KEY_H_
