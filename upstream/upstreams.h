#ifndef VOXGATE_UPSTREAM_UPSTREAMS_H_
#define VOXGATE_UPSTREAM_UPSTREAMS_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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

// A model a pool serves, as GET /models or the configuration names it.
struct ModelEntry {
  std::string id;
  std::string pool;
};

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

  // GET /models of every OpenAI pool, merged in configuration order without
  // duplicates; configured model ids of pools that fail to answer are kept.
  void ListModels(std::function<void(std::vector<ModelEntry>)> done) const;

  // Per pool with endpoints (not the embedded engine): each endpoint's state.
  std::map<std::string, std::vector<EndpointSnapshot>> EndpointSnapshots()
      const;

 private:
  struct PoolEntry;
  Upstreams() = default;
  const PoolEntry* Resolve(const std::string& model,
                           const std::function<bool(const PoolEntry&)>& capable,
                           const std::string& default_pool) const;

  config::v1::Config config_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<TimerQueue> timers_;
  std::vector<std::unique_ptr<PoolEntry>> pools_;
  std::map<std::string, const PoolEntry*> by_name_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_UPSTREAMS_H_
