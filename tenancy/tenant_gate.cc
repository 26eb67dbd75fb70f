#include "tenancy/tenant_gate.h"

#include <atomic>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/retry_info.h"

namespace voxgate::tenancy {
namespace {

// The key the caller sent, if any: `authorization: Bearer <key>` (the
// OpenAI SDKs' way) or `x-api-key: <key>`.
std::optional<absl::string_view> KeyOf(const call::CallerMetadata* metadata) {
  if (metadata == nullptr) return std::nullopt;
  if (auto authorization = metadata->Find("authorization")) {
    absl::string_view value = *authorization;
    if (value.size() > 7 && absl::StartsWithIgnoreCase(value, "bearer ")) {
      return absl::StripAsciiWhitespace(value.substr(7));
    }
  }
  if (auto key = metadata->Find("x-api-key")) {
    return absl::StripAsciiWhitespace(*key);
  }
  return std::nullopt;
}

uint32_t RequestsPerMinute(const TenantPolicy& tenant,
                           call::MethodClass method_class) {
  const auto& rpm = tenant.limits().requests_per_minute();
  switch (method_class) {
    case call::MethodClass::kGeneral:
      return rpm.general();
    case call::MethodClass::kTranscription:
      return rpm.transcription();
    case call::MethodClass::kUnderstanding:
      return rpm.understanding();
    case call::MethodClass::kBatch:
      return rpm.batch();
  }
  return 0;
}

// A claim on the tenant's quotas alone: no request is counted.
LimitClaim QuotaClaim(const TenantPolicy& tenant) {
  LimitClaim claim;
  claim.tenant = tenant.name();
  claim.tokens_per_day = tenant.limits().tokens_per_day();
  claim.audio_seconds_per_hour = tenant.limits().audio_seconds_per_hour();
  return claim;
}

Rejection ReasonOf(const absl::Status& refusal) {
  if (refusal.code() == absl::StatusCode::kUnavailable) {
    return Rejection::kStoreDown;
  }
  return absl::StrContains(refusal.message(), "requests_per_minute")
             ? Rejection::kRate
             : Rejection::kQuota;
}

}  // namespace

class TenantGate::Grant final : public call::CallGrant {
 public:
  Grant(TenantGate& gate, std::shared_ptr<const KeyRing> ring,
        const TenantPolicy& tenant, bool stream, Credential credential)
      : gate_(gate),
        ring_(std::move(ring)),
        tenant_(tenant),
        stream_(stream),
        credential_(std::move(credential)) {
    gate_.Track(this);
  }
  ~Grant() override {
    gate_.Untrack(this);
    gate_.Leave(tenant_.name(), stream_);
  }

  bool revoked() const override { return revoked_.load(); }
  std::vector<std::string> fetch_allowed_hosts() const override {
    const auto& hosts = tenant_.config().fetch_allowed_hosts();
    return {hosts.begin(), hosts.end()};
  }
  // Under the gate's grants lock, for every version of the keys file.
  void Recheck(const KeyRing& ring) {
    if (!ring.StillGrants(credential_, tenant_.name())) revoked_.store(true);
  }

  const std::string& tenant() const override { return tenant_.name(); }

  absl::Status CheckModel(absl::string_view model) const override {
    absl::Status allowed = tenant_.AllowsModel(model);
    if (!allowed.ok()) {
      gate_.metrics_.Rejected(tenant_.name(), Rejection::kPermission);
    }
    return allowed;
  }

  void Charge(const call::CallUsage& usage) override {
    gate_.metrics_.Ended(tenant_.name(), usage.method, usage.code,
                         usage.prompt_tokens, usage.completion_tokens,
                         usage.audio_seconds);
    ChargeQuotas(gate_, tenant_, usage);
  }

  QuotaCheck CheckQuotasLater() const override {
    return [&gate = gate_, ring = ring_,
            &tenant = tenant_](std::function<void(absl::Status)> done) {
      LimitClaim claim = QuotaClaim(tenant);
      if (!claim.limited()) return done(absl::OkStatus());
      gate.limiter_.Check(claim, [&gate, ring, &tenant,
                                  done = std::move(done)](absl::Status verdict) {
        if (!verdict.ok()) {
          gate.metrics_.Rejected(tenant.name(), ReasonOf(verdict));
          verdict = WithTenant(std::move(verdict), tenant.name());
        }
        done(std::move(verdict));
      });
    };
  }

  // The keys file's version stays alive in the function, and with it the
  // tenant's policy.
  LaterCharge ChargeLater() const override {
    return [&gate = gate_, ring = ring_,
            &tenant = tenant_](const call::CallUsage& usage) {
      gate.metrics_.Used(tenant.name(), usage.prompt_tokens,
                         usage.completion_tokens, usage.audio_seconds);
      ChargeQuotas(gate, tenant, usage);
    };
  }

 private:
  // The quotas a call's usage counts against (only those the tenant has).
  static void ChargeQuotas(TenantGate& gate, const TenantPolicy& tenant,
                           const call::CallUsage& usage) {
    const auto& limits = tenant.limits();
    const int64_t tokens = limits.tokens_per_day() > 0
                               ? usage.prompt_tokens + usage.completion_tokens
                               : 0;
    const double audio =
        limits.audio_seconds_per_hour() > 0 ? usage.audio_seconds : 0;
    gate.limiter_.Charge(tenant.name(), tokens, audio);
  }

  TenantGate& gate_;
  // Keeps the keys file's version the call was admitted under alive.
  const std::shared_ptr<const KeyRing> ring_;
  const TenantPolicy& tenant_;
  const bool stream_;
  const Credential credential_;
  std::atomic<bool> revoked_{false};
};

void TenantGate::Track(Grant* grant) {
  absl::MutexLock lock(&grants_mu_);
  grants_.insert(grant);
}

void TenantGate::Untrack(Grant* grant) {
  absl::MutexLock lock(&grants_mu_);
  grants_.erase(grant);
}

void TenantGate::KeysChanged(const KeyRing& ring) {
  absl::MutexLock lock(&grants_mu_);
  for (Grant* grant : grants_) grant->Recheck(ring);
}

absl::StatusOr<const TenantPolicy*> TenantGate::Identify(
    const KeyRing& ring, const call::CallerMetadata* metadata,
    absl::string_view identity, Credential* credential) {
  const std::optional<absl::string_view> key = KeyOf(metadata);
  if (key.has_value()) {
    if (const TenantPolicy* tenant = ring.FindByKey(*key, credential))
      return tenant;
    return absl::UnauthenticatedError(
        "the API key is not valid (unknown, revoked or mistyped)");
  }
  if (const TenantPolicy* tenant = ring.FindByIdentity(identity)) {
    if (credential != nullptr) credential->identity = std::string(identity);
    return tenant;
  }
  return absl::UnauthenticatedError(
      identity.empty()
          ? "an API key is required: send `authorization: Bearer <key>` or "
            "`x-api-key: <key>`"
          : "an API key is required: the client certificate's identity is "
            "not listed by any tenant");
}

absl::Status TenantGate::Authenticate(const call::CallerMetadata& metadata,
                                      absl::string_view identity) {
  std::shared_ptr<const KeyRing> ring = keys_.Current();
  absl::StatusOr<const TenantPolicy*> found =
      Identify(*ring, &metadata, identity);
  if (!found.ok()) metrics_.Rejected("", Rejection::kUnauthenticated);
  return found.status();
}

void TenantGate::Check(const call::AdmissionRequest& request, Done done) {
  std::shared_ptr<const KeyRing> ring = keys_.Current();
  Credential credential;
  absl::StatusOr<const TenantPolicy*> found =
      Identify(*ring, request.metadata, request.identity, &credential);
  if (!found.ok()) {
    metrics_.Rejected("", Rejection::kUnauthenticated);
    done(found.status());
    return;
  }
  const TenantPolicy& tenant = **found;
  absl::Status allowed = tenant.AllowsMethod(request.method);
  if (allowed.ok() && request.model_known) {
    allowed = tenant.AllowsModel(request.model);
  }
  if (!allowed.ok()) {
    metrics_.Rejected(tenant.name(), Rejection::kPermission);
    done(WithTenant(std::move(allowed), tenant.name()));
    return;
  }
  if (absl::Status entered = Enter(tenant, request.long_lived_stream);
      !entered.ok()) {
    metrics_.Rejected(tenant.name(), Rejection::kConcurrency);
    done(WithTenant(std::move(entered), tenant.name()));
    return;
  }
  auto grant =
      std::make_unique<Grant>(*this, std::move(ring), tenant,
                              request.long_lived_stream, std::move(credential));
  LimitClaim claim;
  const auto& limits = tenant.limits();
  claim.requests_per_minute = RequestsPerMinute(tenant, request.method_class);
  claim.tokens_per_day = limits.tokens_per_day();
  claim.audio_seconds_per_hour = limits.audio_seconds_per_hour();
  if (!claim.limited()) {
    done(std::move(grant));
    return;
  }
  claim.tenant = tenant.name();
  claim.method_class = request.method_class;
  // std::function needs a copyable callable: the grant rides in a shared_ptr.
  auto held = std::make_shared<std::unique_ptr<Grant>>(std::move(grant));
  limiter_.Check(
      claim, [this, held, done = std::move(done)](absl::Status verdict) {
        if (!verdict.ok()) {
          const std::string tenant = (*held)->tenant();
          metrics_.Rejected(tenant, ReasonOf(verdict));
          held->reset();  // frees the concurrency slot before answering
          done(WithTenant(std::move(verdict), tenant));
          return;
        }
        done(std::unique_ptr<call::CallGrant>(std::move(*held)));
      });
}

absl::Status TenantGate::Enter(const TenantPolicy& tenant, bool stream) {
  const auto& limits = tenant.limits();
  // A limit of the tenant's own, or its default share of the replica's.
  auto limit_of = [this](uint32_t own, int share, absl::string_view name) {
    return own > 0 ? std::make_pair(static_cast<int>(own),
                                    absl::StrCat(name, " (", own))
                   : std::make_pair(share, absl::StrCat(
                                               name, " (", share,
                                               ", the default share: ",
                                               share_.percent, "% of limits.",
                                               name, ","));
  };
  const auto [max_calls, calls_limit] = limit_of(
      limits.max_concurrent_calls(), share_.max_concurrent_calls,
      "max_concurrent_calls");
  const auto [max_streams, streams_limit] =
      limit_of(limits.max_streams(), share_.max_streams, "max_streams");
  absl::MutexLock lock(&mu_);
  InFlight& in_flight = in_flight_[tenant.name()];
  if (max_calls > 0 && in_flight.calls >= max_calls) {
    return WithRetryDelay(
        absl::ResourceExhaustedError(absl::StrCat(
            "tenant \"", tenant.name(), "\" is over its limit ", calls_limit,
            " calls in flight on this replica); retry when one ends")),
        absl::Seconds(1));
  }
  if (stream && max_streams > 0 && in_flight.streams >= max_streams) {
    return WithRetryDelay(
        absl::ResourceExhaustedError(absl::StrCat(
            "tenant \"", tenant.name(), "\" is over its limit ", streams_limit,
            " streams open on this replica); retry when one ends")),
        absl::Seconds(1));
  }
  ++in_flight.calls;
  if (stream) ++in_flight.streams;
  return absl::OkStatus();
}

void TenantGate::Leave(const std::string& tenant, bool stream) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(tenant);
  if (it == in_flight_.end()) return;
  --it->second.calls;
  if (stream) --it->second.streams;
}

absl::Status TenantGate::AuthorizeMetrics(
    const call::CallerMetadata& metadata) {
  std::shared_ptr<const KeyRing> ring = keys_.Current();
  absl::StatusOr<const TenantPolicy*> found = Identify(*ring, &metadata, "");
  if (!found.ok()) return found.status();
  return (*found)->AllowsMethod("Metrics");
}

}  // namespace voxgate::tenancy
