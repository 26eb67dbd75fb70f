#ifndef VOXGATE_TENANCY_KEYRING_H_
#define VOXGATE_TENANCY_KEYRING_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "voxgate/config/v1/tenants.pb.h"

namespace voxgate::tenancy {

using TenantConfig = ::voxgate::config::v1::Tenant;

// The method names a tenant's `methods` may list: the RPCs, and "Metrics" for
// the admin port's /metrics.
const std::vector<std::string>& KnownMethods();

// One tenant as the keys file describes it.
class TenantPolicy {
 public:
  explicit TenantPolicy(TenantConfig config) : config_(std::move(config)) {}
  const std::string& name() const { return config_.name(); }
  const TenantConfig& config() const { return config_; }
  const ::voxgate::config::v1::TenantLimits& limits() const {
    return config_.limits();
  }
  // PERMISSION_DENIED naming the tenant and the method or model, else OK.
  // An empty model is "default" (the gateway's choice).
  absl::Status AllowsMethod(absl::string_view method) const;
  absl::Status AllowsModel(absl::string_view model) const;

 private:
  TenantConfig config_;
};

// The tenants and key hashes of one version of the keys file. Immutable, so
// calls hold on to the version they were admitted under. Thread-safe.
// What a caller was authenticated with, kept to tell later whether a newer
// keys file still grants it: a key's id and stored hash (never the key), or
// a client-certificate identity.
struct Credential {
  std::string key_id;
  std::string key_hash;
  std::string identity;
};

class KeyRing {
 public:
  // Parses and validates the keys file's YAML. INVALID_ARGUMENT naming the
  // key at fault (`keys[2].tenant: no tenant named "ops"`).
  static absl::StatusOr<std::shared_ptr<const KeyRing>> Parse(
      absl::string_view yaml);

  // The tenant whose key this is, or null (not a key, unknown id, or wrong
  // secret: the caller cannot tell which).
  // `credential` (may be null) receives the key's id and hash.
  const TenantPolicy* FindByKey(absl::string_view key,
                                Credential* credential = nullptr) const;
  // The tenant that lists this client-certificate identity, or null.
  const TenantPolicy* FindByIdentity(absl::string_view identity) const;
  // Whether this version still authenticates `credential` as `tenant`: the
  // key is present with the same hash, or the identity is listed by it.
  bool StillGrants(const Credential& credential,
                   absl::string_view tenant) const;
  const std::vector<std::unique_ptr<TenantPolicy>>& tenants() const {
    return tenants_;
  }
  int key_count() const { return static_cast<int>(keys_.size()); }

 private:
  struct StoredKey {
    std::string hash;
    const TenantPolicy* tenant;
  };
  KeyRing() = default;
  std::vector<std::unique_ptr<TenantPolicy>> tenants_;
  std::map<std::string, StoredKey, std::less<>> keys_;  // by key id
  std::map<std::string, const TenantPolicy*, std::less<>> identities_;
};

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_KEYRING_H_
