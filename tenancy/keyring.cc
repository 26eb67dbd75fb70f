#include "tenancy/keyring.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/peer_identity.h"
#include "config/yaml_proto.h"
#include "call/methods.h"
#include "tenancy/api_key.h"

namespace voxgate::tenancy {
namespace {

absl::Status KeyError(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

bool IsLabelName(absl::string_view name) {
  return !name.empty() && !absl::ascii_isdigit(name[0]) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
         });
}

absl::Status ValidateTenant(const std::string& path,
                            const TenantConfig& tenant) {
  if (!IsValidTenantName(tenant.name())) {
    return KeyError(path + ".name",
                    absl::StrCat("expected 1 to 64 of [a-z0-9_.-], got \"",
                                 tenant.name(), "\""));
  }
  for (const auto& [label, value] : tenant.labels()) {
    if (!IsLabelName(label) || label == "tenant") {
      return KeyError(absl::StrCat(path, ".labels.", label),
                      "expected a metric label name [a-z_][a-z0-9_]* other "
                      "than \"tenant\"");
    }
  }
  const auto& known = KnownMethods();
  for (int i = 0; i < tenant.methods_size(); ++i) {
    if (std::find(known.begin(), known.end(), tenant.methods(i)) ==
        known.end()) {
      return KeyError(
          absl::StrCat(path, ".methods[", i, "]"),
          absl::StrCat("unknown method \"", tenant.methods(i),
                       "\"; expected one of ", absl::StrJoin(known, ", ")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& KnownMethods() {
  static const auto* const kMethods =
      new std::vector<std::string>(call::TenantMethodNames());
  return *kMethods;
}

absl::Status TenantPolicy::AllowsMethod(absl::string_view method) const {
  const auto& methods = config_.methods();
  const bool allowed =
      methods.empty()
          ? method != "Metrics"
          : std::find(methods.begin(), methods.end(), method) != methods.end();
  if (allowed) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("tenant \"", name(), "\" may not call ", method,
                   " (its `methods` in the keys file do not list it)"));
}

absl::Status TenantPolicy::AllowsModel(absl::string_view model) const {
  const auto& models = config_.models();
  const absl::string_view named = model.empty() ? "default" : model;
  if (models.empty() ||
      std::find(models.begin(), models.end(), "*") != models.end() ||
      std::find(models.begin(), models.end(), named) != models.end()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("tenant \"", name(), "\" may not use model \"", named,
                   "\" (its `models` in the keys file do not list it)"));
}

absl::StatusOr<std::shared_ptr<const KeyRing>> KeyRing::Parse(
    absl::string_view yaml) {
  ::voxgate::config::v1::KeysFile file;
  if (absl::Status parsed = ParseYamlIntoMessage(yaml, file);
      !parsed.ok()) {
    return parsed;
  }
  std::shared_ptr<KeyRing> ring(new KeyRing());
  std::map<std::string, const TenantPolicy*, std::less<>> by_name;
  for (int i = 0; i < file.tenants_size(); ++i) {
    const std::string path = absl::StrCat("tenants[", i, "]");
    const TenantConfig& tenant = file.tenants(i);
    if (absl::Status valid = ValidateTenant(path, tenant); !valid.ok()) {
      return valid;
    }
    ring->tenants_.push_back(std::make_unique<TenantPolicy>(tenant));
    const TenantPolicy* policy = ring->tenants_.back().get();
    if (!by_name.emplace(tenant.name(), policy).second) {
      return KeyError(path + ".name", absl::StrCat("tenant \"", tenant.name(),
                                                   "\" is defined twice"));
    }
    for (int j = 0; j < tenant.identities_size(); ++j) {
      if (!IsTypedIdentity(tenant.identities(j))) {
        return KeyError(
            absl::StrCat(path, ".identities[", j, "]"),
            absl::StrCat("say which name of the certificate it is: "
                         "\"spiffe://...\", \"uri:...\", \"dns:...\" or "
                         "\"cn:...\", got \"",
                         tenant.identities(j).substr(0, 100), "\""));
      }
      if (!ring->identities_.emplace(tenant.identities(j), policy).second) {
        return KeyError(absl::StrCat(path, ".identities[", j, "]"),
                        "another tenant lists this identity");
      }
    }
  }
  for (int i = 0; i < file.keys_size(); ++i) {
    const std::string path = absl::StrCat("keys[", i, "]");
    const auto& key = file.keys(i);
    auto tenant = by_name.find(key.tenant());
    if (tenant == by_name.end()) {
      return KeyError(path + ".tenant",
                      absl::StrCat("no tenant named \"", key.tenant(), "\""));
    }
    if (absl::Status valid = ValidateHash(key.hash()); !valid.ok()) {
      return KeyError(path + ".hash", valid.message());
    }
    // A well-formed id is what ParseKey accepts in a key.
    const std::string sample =
        absl::StrCat("vxg_", key.id(), "_", std::string(64, '0'));
    if (!ParseKey(sample).has_value()) {
      return KeyError(path + ".id", "expected 12 lower-case hex digits");
    }
    if (!ring->keys_.emplace(key.id(), StoredKey{key.hash(), tenant->second})
             .second) {
      return KeyError(path + ".id", "another key has this id");
    }
  }
  return std::shared_ptr<const KeyRing>(std::move(ring));
}

const TenantPolicy* KeyRing::FindByKey(absl::string_view key,
                                       Credential* credential) const {
  const std::optional<PresentedKey> presented = ParseKey(key);
  if (!presented.has_value()) return nullptr;
  auto it = keys_.find(presented->id);
  if (it == keys_.end()) return nullptr;
  if (!SecretMatches(presented->secret, it->second.hash)) return nullptr;
  if (credential != nullptr) {
    credential->key_id = it->first;
    credential->key_hash = it->second.hash;
  }
  return it->second.tenant;
}

bool KeyRing::StillGrants(const Credential& credential,
                          absl::string_view tenant) const {
  if (!credential.key_id.empty()) {
    auto it = keys_.find(credential.key_id);
    return it != keys_.end() && it->second.hash == credential.key_hash &&
           it->second.tenant->name() == tenant;
  }
  const TenantPolicy* listed = FindByIdentity(credential.identity);
  return listed != nullptr && listed->name() == tenant;
}

const TenantPolicy* KeyRing::FindByIdentity(absl::string_view identity) const {
  if (identity.empty()) return nullptr;
  auto it = identities_.find(identity);
  return it == identities_.end() ? nullptr : it->second;
}

}  // namespace voxgate::tenancy
