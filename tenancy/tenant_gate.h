#ifndef VOXGATE_TENANCY_TENANT_GATE_H_
#define VOXGATE_TENANCY_TENANT_GATE_H_

#include <map>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "call/admission.h"
#include "tenancy/keys_store.h"
#include "tenancy/limiter.h"
#include "tenancy/tenant_metrics.h"

namespace voxgate::tenancy {

// Admission's check when a keys file is configured, for every front door:
//  1. who: the key in `authorization: Bearer <key>` or `x-api-key`, else a
//     client-certificate identity a tenant lists; none or unknown is
//     UNAUTHENTICATED (the message never repeats the key);
//  2. may it: the tenant's methods and models, else PERMISSION_DENIED naming
//     the method or model;
//  3. how much: the tenant's concurrent calls and streams (per replica),
//     then its requests per minute, tokens per day and audio seconds per hour
//     through the limiter (shared through Redis when configured), else
//     RESOURCE_EXHAUSTED naming the limit, with when to retry.
// The grant names the tenant for logs and metrics, holds the concurrency
// slots, and charges usage as the call ends. Thread-safe.
// What a tenant that sets no concurrency limits of its own may hold on one
// replica (0: no limit), so that one key cannot take every slot.
struct DefaultShare {
  int max_concurrent_calls = 0;
  int max_streams = 0;
  int percent = 0;  // of the replica's limits, for messages
};

class TenantGate final : public call::AdmissionCheck {
 public:
  // All borrowed; they must outlive the gate and every call it admitted.
  TenantGate(KeysStore& keys, Limiter& limiter, TenantMetrics& metrics,
             DefaultShare share = DefaultShare())
      : keys_(keys), limiter_(limiter), metrics_(metrics), share_(share) {}

  void Check(const call::AdmissionRequest& request, Done done) override;
  absl::Status Authenticate(const call::CallerMetadata& metadata,
                            absl::string_view identity) override;

  // A new version of the keys file: every call admitted with a key or
  // identity it no longer grants is marked revoked (its streams end).
  void KeysChanged(const KeyRing& ring);

  // For the admin port's /metrics: OK when the key's tenant may call
  // "Metrics", else UNAUTHENTICATED or PERMISSION_DENIED.
  absl::Status AuthorizeMetrics(const call::CallerMetadata& metadata);

 private:
  class Grant;
  struct InFlight {
    int calls = 0;
    int streams = 0;
  };
  // Who the caller is, or UNAUTHENTICATED.
  absl::StatusOr<const TenantPolicy*> Identify(
      const KeyRing& ring, const call::CallerMetadata* metadata,
      absl::string_view identity, Credential* credential = nullptr);
  void Track(Grant* grant);
  void Untrack(Grant* grant);
  // Takes a concurrency slot, or RESOURCE_EXHAUSTED naming the limit.
  absl::Status Enter(const TenantPolicy& tenant, bool stream);
  void Leave(const std::string& tenant, bool stream);

  KeysStore& keys_;
  Limiter& limiter_;
  TenantMetrics& metrics_;
  const DefaultShare share_;
  absl::Mutex mu_;
  std::map<std::string, InFlight, std::less<>> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::Mutex grants_mu_;
  std::set<Grant*> grants_ ABSL_GUARDED_BY(grants_mu_);
};

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_TENANT_GATE_H_
