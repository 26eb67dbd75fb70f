#include "upstream/upstreams.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/proto_duration.h"
#include "common/timer_queue.h"
#include "google/protobuf/util/time_util.h"
#include "upstream/http_client.h"
#include "upstream/openai_backend.h"
#include "upstream/openai_protocol.h"
#include "upstream/pool.h"
#include "upstream/retry_budget.h"

namespace voxgate::upstream {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::voxgate::config::v1::PoolConfig;

absl::StatusOr<std::string> ApiKey(const PoolConfig& pool, int index,
                                   const Upstreams::EnvLookup& env) {
  if (!pool.api_key_env().empty()) {
    std::optional<std::string> key =
        env ? env(pool.api_key_env()) : std::nullopt;
    if (!key || key->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pools[", index, "].api_key_env: environment variable ",
                       pool.api_key_env(), " is not set"));
    }
    return *key;
  }
  if (!pool.api_key_file().empty()) {
    std::ifstream file(pool.api_key_file());
    std::ostringstream text;
    text << file.rdbuf();
    if (!file) {
      return absl::InvalidArgumentError(
          absl::StrCat("pools[", index, "].api_key_file: cannot read ",
                       pool.api_key_file()));
    }
    return std::string(absl::StripAsciiWhitespace(text.str()));
  }
  return std::string();
}

OpenAiProtocol ToOpenAi(config::v1::Protocol protocol) {
  switch (protocol) {
    case config::v1::PROTOCOL_OPENAI_TRANSCRIPTIONS:
      return OpenAiProtocol::kTranscriptions;
    case config::v1::PROTOCOL_OPENAI_CHAT_AUDIO:
      return OpenAiProtocol::kChatAudio;
    default:
      return OpenAiProtocol::kChat;
  }
}

}  // namespace

struct Upstreams::PoolEntry {
  PoolConfig config;
  std::unique_ptr<Pool> pool;
  std::unique_ptr<RetryBudget> budget;
  std::unique_ptr<PoolMetrics> metrics;
  std::unique_ptr<OpenAiBackend> openai;
  std::unique_ptr<TranscriptionBackend> embedded;

  TranscriptionBackend* transcriber() const {
    if (embedded) return embedded.get();
    if (config.protocol() == config::v1::PROTOCOL_OPENAI_CHAT) return nullptr;
    return openai.get();
  }
  ChatBackend* chat() const {
    return config.protocol() == config::v1::PROTOCOL_OPENAI_CHAT ||
                   config.protocol() == config::v1::PROTOCOL_OPENAI_CHAT_AUDIO
               ? openai.get()
               : nullptr;
  }
  bool available() const {
    if (embedded) return embedded->available();
    return pool != nullptr && pool->HasAvailableEndpoint();
  }
  bool Serves(const std::string& model) const {
    if (model == config.name()) return true;
    for (const std::string& id : config.models()) {
      if (id == model) return true;
    }
    return false;
  }
};

absl::StatusOr<std::unique_ptr<Upstreams>> Upstreams::Create(
    const config::v1::Config& config, Options options) {
  std::unique_ptr<Upstreams> upstreams(new Upstreams());
  upstreams->config_ = config;
  auto http = HttpClient::Create();
  if (!http.ok()) return http.status();
  upstreams->http_ = std::move(*http);
  upstreams->timers_ = std::make_unique<TimerQueue>();

  for (int i = 0; i < config.pools_size(); ++i) {
    const PoolConfig& pool_config = config.pools(i);
    auto entry = std::make_unique<PoolEntry>();
    entry->config = pool_config;
    if (pool_config.protocol() == config::v1::PROTOCOL_EMBEDDED) {
      if (!options.embedded_factory) {
        return absl::FailedPreconditionError(absl::StrCat(
            "pools[", i,
            "]: the embedded engine is not available in this build"));
      }
      auto backend = options.embedded_factory(pool_config);
      if (!backend.ok()) return backend.status();
      entry->embedded = std::move(*backend);
    } else {
      absl::StatusOr<std::string> key = ApiKey(pool_config, i, options.env);
      if (!key.ok()) return key.status();
      PoolOptions pool_options;
      pool_options.name = pool_config.name();
      for (const auto& endpoint : pool_config.endpoints()) {
        pool_options.endpoints.push_back(
            {endpoint.url(), static_cast<int>(endpoint.weight()),
             static_cast<int>(endpoint.max_concurrency())});
      }
      pool_options.max_queue = static_cast<int>(pool_config.max_queue());
      if (pool_config.has_queue_timeout()) {
        pool_options.queue_timeout = ToAbsl(pool_config.queue_timeout());
      }
      pool_options.health_path = pool_config.health_check().path();
      pool_options.health_interval =
          ToAbsl(pool_config.health_check().interval());
      pool_options.health_timeout =
          ToAbsl(pool_config.health_check().timeout());
      entry->pool = Pool::Create(std::move(pool_options), *upstreams->http_,
                                 *upstreams->timers_);
      entry->budget = std::make_unique<RetryBudget>();
      HttpHeaders headers;
      if (!key->empty())
        headers.emplace_back("Authorization", absl::StrCat("Bearer ", *key));
      for (const auto& [name, value] : pool_config.headers())
        headers.emplace_back(name, value);
      RetryPolicy policy;
      policy.max_attempts = static_cast<int>(pool_config.max_attempts());
      if (options.registry != nullptr) {
        std::vector<std::string> urls;
        for (const auto& endpoint : pool_config.endpoints())
          urls.push_back(endpoint.url());
        entry->metrics = std::make_unique<PoolMetrics>(
            *options.registry, pool_config.name(), urls);
      }
      PoolContext context{
          *entry->pool, *upstreams->http_,  *upstreams->timers_, *entry->budget,
          policy,       std::move(headers), entry->metrics.get()};
      context.connect_timeout = ToAbsl(pool_config.connect_timeout());
      context.first_byte_timeout = ToAbsl(pool_config.first_byte_timeout());
      context.stall_timeout = ToAbsl(pool_config.stall_timeout());
      OpenAiBackend::Options backend_options;
      backend_options.protocol = ToOpenAi(pool_config.protocol());
      backend_options.default_model =
          pool_config.models().empty() ? "" : pool_config.models(0);
      backend_options.transcribe_system_prompt =
          pool_config.system_prompt().empty() ? kDefaultTranscribeSystemPrompt
                                              : pool_config.system_prompt();
      entry->openai =
          std::make_unique<OpenAiBackend>(std::move(context), backend_options);
    }
    upstreams->by_name_[pool_config.name()] = entry.get();
    upstreams->pools_.push_back(std::move(entry));
  }
  return upstreams;
}

Upstreams::~Upstreams() {
  // Calls still running reference the pools (their names, budgets, metrics):
  // stop the pools' own work (health checks, queued waits), then end every
  // transfer and timer while the pools still exist, and only then free them.
  for (auto& entry : pools_) {
    if (entry->pool != nullptr) entry->pool->Shutdown();
  }
  http_.reset();
  timers_.reset();
  pools_.clear();
}

const Upstreams::PoolEntry* Upstreams::Resolve(
    const std::string& model,
    const std::function<bool(const PoolEntry&)>& capable,
    const std::string& default_pool) const {
  const PoolEntry* chosen = nullptr;
  if (!model.empty()) {
    if (auto route = config_.routing().model_routes().find(model);
        route != config_.routing().model_routes().end()) {
      auto it = by_name_.find(route->second);
      if (it != by_name_.end() && capable(*it->second)) chosen = it->second;
    }
    for (const auto& entry : pools_) {
      if (chosen == nullptr && capable(*entry) && entry->Serves(model))
        chosen = entry.get();
    }
  } else if (auto it = by_name_.find(default_pool);
             it != by_name_.end() && capable(*it->second)) {
    chosen = it->second;
  }
  // An unavailable pool gives way to its fallback when that one can serve.
  if (chosen != nullptr && !chosen->available() &&
      !chosen->config.fallback_pool().empty()) {
    auto fallback = by_name_.find(chosen->config.fallback_pool());
    if (fallback != by_name_.end() && capable(*fallback->second) &&
        fallback->second->available()) {
      chosen = fallback->second;
    }
  }
  return chosen;
}

absl::StatusOr<TranscriptionBackend*> Upstreams::ForTranscription(
    const std::string& model) const {
  const PoolEntry* entry = Resolve(
      model,
      [](const PoolEntry& pool) { return pool.transcriber() != nullptr; },
      config_.routing().audio_pool());
  if (entry != nullptr) return entry->transcriber();
  if (!model.empty()) {
    return absl::NotFoundError(
        absl::StrCat("model \"", model,
                     "\" is not served by any audio pool; ListModels shows the "
                     "choices"));
  }
  return absl::FailedPreconditionError(
      "no audio pool is configured: set --audio_base_url or add a pool with "
      "protocol "
      "openai_transcriptions, openai_chat_audio or embedded");
}

absl::StatusOr<ChatBackend*> Upstreams::ForChat(
    const std::string& model) const {
  const PoolEntry* entry = Resolve(
      model, [](const PoolEntry& pool) { return pool.chat() != nullptr; },
      config_.routing().text_pool());
  if (entry != nullptr) return entry->chat();
  if (!model.empty()) {
    return absl::NotFoundError(
        absl::StrCat("model \"", model,
                     "\" is not served by any chat pool; ListModels shows the "
                     "choices"));
  }
  return absl::FailedPreconditionError(
      "no text model is configured: start voxgate with "
      "--text_base_url=http://host:port/v1 (any OpenAI-compatible server such "
      "as "
      "llama-server, vLLM or Ollama) or add an openai_chat pool to the config "
      "file");
}

absl::StatusOr<ChatBackend*> Upstreams::ForAudioChat(
    const std::string& model) const {
  auto audio_chat = [](const PoolEntry& pool) {
    return pool.config.protocol() == config::v1::PROTOCOL_OPENAI_CHAT_AUDIO;
  };
  std::string default_pool = config_.routing().audio_pool();
  if (auto it = by_name_.find(default_pool);
      it == by_name_.end() || !audio_chat(*it->second)) {
    for (const auto& entry : pools_) {
      if (audio_chat(*entry)) {
        default_pool = entry->config.name();
        break;
      }
    }
  }
  const PoolEntry* entry = Resolve(model, audio_chat, default_pool);
  if (entry != nullptr) return entry->chat();
  if (!model.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "model \"", model, "\" is not served by an openai_chat_audio pool"));
  }
  return absl::FailedPreconditionError(
      "no audio chat model is configured: point --audio_base_url at a server "
      "that "
      "takes input_audio (llama-server with an audio mmproj, vLLM with "
      "Voxtral) with "
      "--audio_protocol=chat_audio");
}

std::string Upstreams::PoolNameFor(const TranscriptionBackend& backend) const {
  for (const auto& entry : pools_) {
    if (entry->transcriber() == &backend) return entry->config.name();
  }
  return "";
}

std::string Upstreams::PoolNameFor(const ChatBackend& backend) const {
  for (const auto& entry : pools_) {
    if (entry->chat() == &backend) return entry->config.name();
  }
  return "";
}

std::string Upstreams::UpstreamModelName(const std::string& model) const {
  return by_name_.count(model) ? "" : model;
}

void Upstreams::ListModels(
    std::function<void(std::vector<ModelEntry>)> done) const {
  // Collects answers from every pool, then merges them in configuration order.
  struct Gather {
    absl::Mutex mu;
    std::vector<std::vector<ModelEntry>> per_pool;
    int remaining;
    std::function<void(std::vector<ModelEntry>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->per_pool.resize(pools_.size());
  gather->remaining = static_cast<int>(pools_.size());
  gather->done = std::move(done);
  auto finish_one = [gather](std::size_t index,
                             std::vector<ModelEntry> models) {
    bool last;
    {
      absl::MutexLock lock(&gather->mu);
      gather->per_pool[index] = std::move(models);
      last = --gather->remaining == 0;
    }
    if (!last) return;
    std::vector<ModelEntry> merged;
    std::set<std::string> seen;
    for (const auto& models : gather->per_pool) {
      for (const ModelEntry& model : models) {
        if (seen.insert(model.id).second) merged.push_back(model);
      }
    }
    gather->done(std::move(merged));
  };
  if (pools_.empty()) return finish_one(0, {});
  for (std::size_t i = 0; i < pools_.size(); ++i) {
    const PoolEntry& entry = *pools_[i];
    std::vector<ModelEntry> configured;
    for (const std::string& id : entry.config.models()) {
      configured.push_back({id, entry.config.name()});
    }
    if (entry.openai == nullptr) {
      finish_one(i, std::move(configured));
      continue;
    }
    CallOptions options;
    options.deadline = absl::Now() + absl::Seconds(5);
    entry.openai->ListModels(
        options, [finish_one, i, configured, pool = entry.config.name()](
                     absl::StatusOr<std::vector<std::string>> ids) mutable {
          if (ids.ok()) {
            for (const std::string& id : *ids) configured.push_back({id, pool});
          }
          finish_one(i, std::move(configured));
        });
  }
}

std::map<std::string, bool> Upstreams::PoolAvailability() const {
  std::map<std::string, bool> availability;
  for (const auto& entry : pools_)
    availability[entry->config.name()] = entry->available();
  return availability;
}

std::map<std::string, std::vector<EndpointSnapshot>>
Upstreams::EndpointSnapshots() const {
  std::map<std::string, std::vector<EndpointSnapshot>> snapshots;
  for (const auto& entry : pools_) {
    if (entry->pool != nullptr)
      snapshots[entry->config.name()] = entry->pool->Snapshot();
  }
  return snapshots;
}

}  // namespace voxgate::upstream
