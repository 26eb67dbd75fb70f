#include "tenancy/tenant_metrics.h"

#include <map>

#include "absl/strings/ascii.h"

namespace voxgate::tenancy {
namespace {

const char* ReasonName(Rejection reason) {
  switch (reason) {
    case Rejection::kUnauthenticated:
      return "unauthenticated";
    case Rejection::kPermission:
      return "permission";
    case Rejection::kRate:
      return "rate";
    case Rejection::kQuota:
      return "quota";
    case Rejection::kConcurrency:
      return "concurrency";
    case Rejection::kStoreDown:
      return "limits_store_down";
  }
  return "unknown";
}

}  // namespace

TenantMetrics::TenantMetrics(prometheus::Registry& registry)
    : calls_(prometheus::BuildCounter()
                 .Name("voxgate_tenant_calls_total")
                 .Help("Calls admitted, by tenant, method and final code")
                 .Register(registry)),
      rejections_(prometheus::BuildCounter()
                      .Name("voxgate_tenant_rejections_total")
                      .Help("Calls refused by authentication, permissions, "
                            "rate limits and quotas, by tenant and reason")
                      .Register(registry)),
      tokens_(prometheus::BuildCounter()
                  .Name("voxgate_tenant_tokens_total")
                  .Help("Tokens as upstreams reported them, by tenant")
                  .Register(registry)),
      audio_(prometheus::BuildCounter()
                 .Name("voxgate_tenant_audio_seconds_total")
                 .Help("Audio decoded for the tenant's calls, seconds")
                 .Register(registry)),
      info_(prometheus::BuildGauge()
                .Name("voxgate_tenant_info")
                .Help("The tenants of the keys file, with their labels")
                .Register(registry)) {}

void TenantMetrics::Rejected(const std::string& tenant, Rejection reason) {
  rejections_.Add({{"tenant", tenant}, {"reason", ReasonName(reason)}})
      .Increment();
}

void TenantMetrics::Ended(const std::string& tenant, absl::string_view method,
                          absl::StatusCode code, int64_t prompt_tokens,
                          int64_t completion_tokens, double audio_seconds) {
  calls_
      .Add({{"tenant", tenant},
            {"method", std::string(method)},
            {"code", absl::StatusCodeToString(code)}})
      .Increment();
  Used(tenant, prompt_tokens, completion_tokens, audio_seconds);
}

void TenantMetrics::Used(const std::string& tenant, int64_t prompt_tokens,
                         int64_t completion_tokens, double audio_seconds) {
  if (prompt_tokens > 0) {
    tokens_.Add({{"tenant", tenant}, {"kind", "prompt"}})
        .Increment(static_cast<double>(prompt_tokens));
  }
  if (completion_tokens > 0) {
    tokens_.Add({{"tenant", tenant}, {"kind", "completion"}})
        .Increment(static_cast<double>(completion_tokens));
  }
  if (audio_seconds > 0) {
    audio_.Add({{"tenant", tenant}}).Increment(audio_seconds);
  }
}

void TenantMetrics::SetTenants(const KeyRing& ring) {
  absl::MutexLock lock(&mu_);
  for (prometheus::Gauge* series : info_series_) info_.Remove(series);
  info_series_.clear();
  for (const auto& tenant : ring.tenants()) {
    std::map<std::string, std::string> labels(tenant->config().labels().begin(),
                                              tenant->config().labels().end());
    labels["tenant"] = tenant->name();
    prometheus::Gauge& series = info_.Add(labels);
    series.Set(1);
    info_series_.push_back(&series);
  }
}

}  // namespace voxgate::tenancy
