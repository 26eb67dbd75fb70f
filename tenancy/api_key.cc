#include "tenancy/api_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace voxgate::tenancy {
namespace {

constexpr absl::string_view kPrefix = "vxg_";
constexpr size_t kIdHexDigits = 12;
constexpr size_t kSecretHexDigits = 64;
constexpr size_t kSaltBytes = 16;

std::string RandomBytes(size_t n) {
  std::string bytes(n, '\0');
  // RAND_bytes fails only when the system's entropy source is unusable; a
  // gateway that cannot make keys then must not pretend it did.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()),
                 static_cast<int>(n)) != 1) {
    std::abort();
  }
  return bytes;
}

std::string Digest(absl::string_view salt, absl::string_view secret) {
  const std::string input = absl::StrCat(salt, secret);
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

bool IsLowerHex(absl::string_view text, size_t size) {
  if (text.size() != size) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

bool IsValidTenantName(absl::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
         });
}

MintedKey MintKey() {
  MintedKey minted;
  minted.id = absl::BytesToHexString(RandomBytes(kIdHexDigits / 2));
  const std::string secret =
      absl::BytesToHexString(RandomBytes(kSecretHexDigits / 2));
  const std::string salt = RandomBytes(kSaltBytes);
  minted.key = absl::StrCat(kPrefix, minted.id, "_", secret);
  minted.hash = absl::StrCat("sha256:", absl::BytesToHexString(salt), ":",
                             absl::BytesToHexString(Digest(salt, secret)));
  return minted;
}

std::optional<PresentedKey> ParseKey(absl::string_view key) {
  if (!absl::ConsumePrefix(&key, kPrefix)) return std::nullopt;
  if (key.size() != kIdHexDigits + 1 + kSecretHexDigits ||
      key[kIdHexDigits] != '_') {
    return std::nullopt;
  }
  PresentedKey parsed{key.substr(0, kIdHexDigits),
                      key.substr(kIdHexDigits + 1)};
  if (!IsLowerHex(parsed.id, kIdHexDigits) ||
      !IsLowerHex(parsed.secret, kSecretHexDigits)) {
    return std::nullopt;
  }
  return parsed;
}

absl::Status ValidateHash(absl::string_view hash) {
  const std::vector<absl::string_view> parts = absl::StrSplit(hash, ':');
  if (parts.size() != 3 || parts[0] != "sha256" ||
      !IsLowerHex(parts[1], 2 * kSaltBytes) ||
      !IsLowerHex(parts[2], 2 * SHA256_DIGEST_LENGTH)) {
    return absl::InvalidArgumentError(
        "expected \"sha256:<32 hex digits of salt>:<64 hex digits of "
        "digest>\" as `voxgate mint-key` prints");
  }
  return absl::OkStatus();
}

bool SecretMatches(absl::string_view secret, absl::string_view hash) {
  const std::vector<absl::string_view> parts = absl::StrSplit(hash, ':');
  if (parts.size() != 3) return false;
  const std::string digest = Digest(absl::HexStringToBytes(parts[1]), secret);
  const std::string expected = absl::HexStringToBytes(parts[2]);
  return expected.size() == digest.size() &&
         CRYPTO_memcmp(digest.data(), expected.data(), digest.size()) == 0;
}

}  // namespace voxgate::tenancy
