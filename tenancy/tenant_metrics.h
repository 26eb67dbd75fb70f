#ifndef VOXGATE_TENANCY_TENANT_METRICS_H_
#define VOXGATE_TENANCY_TENANT_METRICS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "tenancy/keyring.h"

namespace voxgate::tenancy {

// Why a call was refused, as voxgate_tenant_rejections_total's reason.
enum class Rejection {
  kUnauthenticated,
  kPermission,
  kRate,
  kQuota,
  kConcurrency,
  kStoreDown
};

// Per-tenant metrics. The tenant label only ever takes names from the keys
// file ("" for callers with no valid key), method and code labels come from
// fixed lists, so cardinality is bounded by the operator, never by callers:
//   voxgate_tenant_calls_total{tenant, method, code}
//   voxgate_tenant_rejections_total{tenant, reason}
//   voxgate_tenant_tokens_total{tenant, kind="prompt"|"completion"}
//   voxgate_tenant_audio_seconds_total{tenant}
//   voxgate_tenant_info{tenant, <the tenant's labels>} 1, to join on.
// Thread-safe.
class TenantMetrics {
 public:
  explicit TenantMetrics(prometheus::Registry& registry);

  void Rejected(const std::string& tenant, Rejection reason);
  void Ended(const std::string& tenant, absl::string_view method,
             absl::StatusCode code, int64_t prompt_tokens,
             int64_t completion_tokens, double audio_seconds);
  // Usage that is not a call's (a batch's files, after its call ended).
  void Used(const std::string& tenant, int64_t prompt_tokens,
            int64_t completion_tokens, double audio_seconds);
  // Replaces the info series with the tenants of `ring`.
  void SetTenants(const KeyRing& ring);

 private:
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Counter>& rejections_;
  prometheus::Family<prometheus::Counter>& tokens_;
  prometheus::Family<prometheus::Counter>& audio_;
  prometheus::Family<prometheus::Gauge>& info_;
  absl::Mutex mu_;
  std::vector<prometheus::Gauge*> info_series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_TENANT_METRICS_H_
