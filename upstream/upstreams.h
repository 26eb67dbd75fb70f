#ifndef VOXGATE_UPSTREAM_UPSTREAMS_H_
#define VOXGATE_UPSTREAM_UPSTREAMS_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/timer_queue.h"
#include "prometheus/registry.h"
#include "upstream/backend.h"
#include "upstream/pool.h"
#include "upstream/routing.h"
#include "voxgate/config/v1/config.pb.h"

namespace voxgate::upstream {

class HttpClient;
class OpenAiBackend;
class Pool;
class RetryBudget;

// Every configured pool and the routing between them: the upstream layer's one
// entry point. Owns the HTTP client, timers, pools and backends. Thread-safe.
class Upstreams final : public Routing {
 public:
  // Makes the backend of an embedded pool (the in-process engine).
  using EmbeddedFactory =
      std::function<absl::StatusOr<std::unique_ptr<TranscriptionBackend>>(
          const config::v1::PoolConfig&)>;
  // Looks up an environment variable (API keys); nullopt when unset.
  using EnvLookup =
      std::function<std::optional<std::string>(const std::string&)>;

  struct Options {
    EmbeddedFactory embedded_factory;
    EnvLookup env;
    // Where per-pool request metrics go; none when null. Must outlive this.
    prometheus::Registry* registry = nullptr;
    // What retry backoff, queue timeouts, ejections and health checks read;
    // the real clock when null (tests give a ManualClock). Must outlive this.
    Clock* clock = nullptr;
  };

  // Builds pools and backends and starts health checks. INVALID_ARGUMENT naming
  // the key when an API key's variable is unset or its file unreadable.
  static absl::StatusOr<std::unique_ptr<Upstreams>> Create(
      const config::v1::Config& config, Options options);
  ~Upstreams() override;

  // Routing.
  absl::StatusOr<TranscriptionBackend*> ForTranscription(
      const std::string& model) const override;
  absl::StatusOr<ChatBackend*> ForChat(const std::string& model) const override;
  absl::StatusOr<ChatBackend*> ForAudioChat(
      const std::string& model) const override;
  std::string PoolNameFor(const TranscriptionBackend& backend) const override;
  std::string PoolNameFor(const ChatBackend& backend) const override;
  std::string UpstreamModelName(const std::string& model) const override;
  std::map<std::string, bool> PoolAvailability() const override;
  std::map<std::string, std::vector<std::string>> ReportedModels()
      const override;

  // Asks every OpenAI pool's GET /models now; `done` (if any) runs once all
  // answered. A pool that fails keeps what it reported before. Also runs at
  // start and every kModelRefreshInterval.
  void RefreshModels(std::function<void()> done = nullptr);
  static constexpr absl::Duration kModelRefreshInterval = absl::Seconds(60);
  // The x-request-id of those requests, so servers' logs (and test fakes) can
  // tell them from calls.
  static constexpr char kModelRefreshRequestId[] = "voxgate-model-refresh";

  // Per pool with endpoints (not the embedded engine): each endpoint's state.
  std::map<std::string, std::vector<EndpointSnapshot>> EndpointSnapshots()
      const;

 private:
  struct PoolEntry;
  Upstreams() = default;
  const PoolEntry* Resolve(const std::string& model,
                           const std::function<bool(const PoolEntry&)>& capable,
                           const std::string& default_pool) const;

  // The entry of pools[index]: the embedded engine or an HTTP pool with its
  // budget, metrics and backend. INVALID_ARGUMENT names the field at fault.
  absl::StatusOr<std::unique_ptr<PoolEntry>> BuildPool(
      const config::v1::PoolConfig& pool_config, int index,
      const Options& options);
  void ScheduleModelRefresh();

  config::v1::Config config_;
  // Before http_: transfers ended by its destruction still report here.
  mutable absl::Mutex reported_mu_;
  std::map<std::string, std::vector<std::string>> reported_
      ABSL_GUARDED_BY(reported_mu_);
  // Held while a refresh starts requests; stopping_ ends the refreshes.
  absl::Mutex refresh_mu_;
  bool stopping_ ABSL_GUARDED_BY(refresh_mu_) = false;
  TimerQueue::TimerId refresh_timer_ ABSL_GUARDED_BY(refresh_mu_) = 0;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<TimerQueue> timers_;
  std::vector<std::unique_ptr<PoolEntry>> pools_;
  std::map<std::string, const PoolEntry*> by_name_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_UPSTREAMS_H_
