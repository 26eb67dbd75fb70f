#include "tenancy/tenancy.h"

#include "absl/strings/numbers.h"
#include "common/proto_duration.h"
#include "tenancy/local_limiter.h"
#include "tenancy/redis_limiter.h"

namespace voxgate::tenancy {

RedisOptions RedisOptionsFrom(const ::voxgate::config::v1::RedisConfig& redis) {
  RedisOptions options;
  const std::size_t colon = redis.address().rfind(':');
  options.host = redis.address().substr(0, colon);
  // Validated by the configuration's loader.
  (void)absl::SimpleAtoi(redis.address().substr(colon + 1), &options.port);
  options.timeout = ToAbsl(redis.timeout());
  options.reconnect_interval = ToAbsl(redis.reconnect_interval());
  options.key_prefix = redis.key_prefix();
  options.max_pending = static_cast<int>(redis.max_pending());
  return options;
}

absl::StatusOr<std::unique_ptr<Tenancy>> Tenancy::Create(
    const ::voxgate::config::v1::Config& config, TimerQueue& timers,
    const Logger& logger, prometheus::Registry& registry) {
  if (config.auth().keys_file().empty()) return nullptr;
  std::unique_ptr<Tenancy> tenancy(new Tenancy());
  tenancy->metrics_ = std::make_unique<TenantMetrics>(registry);
  const auto& redis = config.redis();
  if (redis.address().empty()) {
    tenancy->limiter_ = std::make_unique<LocalLimiter>(timers.clock());
  } else {
    RedisLimiter::Options options;
    static_cast<RedisOptions&>(options) = RedisOptionsFrom(redis);
    options.fail_open = redis.on_failure() !=
                        ::voxgate::config::v1::REDIS_FAILURE_POLICY_CLOSED;
    options.lease_size = static_cast<int>(redis.lease_size());
    options.lease_ttl = ToAbsl(redis.lease_ttl());
    tenancy->limiter_ = std::make_unique<RedisLimiter>(options, timers.clock(),
                                                       logger, registry);
  }
  TenantMetrics* metrics = tenancy->metrics_.get();
  std::atomic<TenantGate*>* gate = &tenancy->reload_gate_;
  auto keys = KeysStore::Start(
      config.auth().keys_file(), ToAbsl(config.auth().reload_interval()),
      timers, logger, [metrics, gate](const KeyRing& ring) {
        metrics->SetTenants(ring);
        // Open streams of revoked keys end within a second of the reload.
        if (TenantGate* current = gate->load()) current->KeysChanged(ring);
      });
  if (!keys.ok()) return keys.status();
  tenancy->keys_ = *std::move(keys);
  const uint32_t percent = config.auth().default_tenant_share_percent();
  auto share_of = [percent](uint32_t replica) {  // rounded up: at least one
    return static_cast<int>((uint64_t{replica} * percent + 99) / 100);
  };
  tenancy->gate_ = std::make_unique<TenantGate>(
      *tenancy->keys_, *tenancy->limiter_, *tenancy->metrics_,
      DefaultShare{share_of(config.limits().max_concurrent_calls()),
                               share_of(config.limits().max_streams()),
                               static_cast<int>(percent)});
  tenancy->reload_gate_.store(tenancy->gate_.get());
  return tenancy;
}

}  // namespace voxgate::tenancy
