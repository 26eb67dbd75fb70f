#include "upstream/upstreams.h"

#include <algorithm>
#include <atomic>
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
#include "upstream/fallback_backend.h"
#include "upstream/http_client.h"
#include "upstream/openai_backend.h"
#include "upstream/openai_protocol.h"
#include "upstream/pool.h"
#include "upstream/protocols.h"
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

OpenAiProtocol ToOpenAi(const ProtocolInfo& protocol) {
  switch (protocol.dialect) {
    case OpenAiDialect::kTranscriptions:
      return OpenAiProtocol::kTranscriptions;
    case OpenAiDialect::kChatAudio:
      return OpenAiProtocol::kChatAudio;
    case OpenAiDialect::kChat:
    case OpenAiDialect::kNone:  // not built over HTTP
      return OpenAiProtocol::kChat;
  }
  return OpenAiProtocol::kChat;
}

}  // namespace

struct Upstreams::PoolEntry {
  PoolConfig config;
  const ProtocolInfo* protocol = nullptr;  // never null once built
  std::unique_ptr<Pool> pool;
  std::unique_ptr<RetryBudget> budget;
  std::unique_ptr<PoolMetrics> metrics;
  std::unique_ptr<OpenAiBackend> openai;
  std::unique_ptr<TranscriptionBackend> embedded;
  HttpHeaders headers;  // authorization and the configured extra headers
  // With a fallback_pool that serves the same kind of request: this pool's
  // backend wrapped to retry there (FallbackChatBackend).
  std::unique_ptr<FallbackChatBackend> chat_with_fallback;
  std::unique_ptr<FallbackTranscriptionBackend> transcriber_with_fallback;

  TranscriptionBackend* transcriber() const {
    if (transcriber_with_fallback) return transcriber_with_fallback.get();
    return own_transcriber();
  }
  ChatBackend* chat() const {
    if (chat_with_fallback) return chat_with_fallback.get();
    return own_chat();
  }
  TranscriptionBackend* own_transcriber() const {
    if (embedded) return embedded.get();
    return protocol->transcribes ? openai.get() : nullptr;
  }
  ChatBackend* own_chat() const {
    return protocol->text_chat ? openai.get() : nullptr;
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
  upstreams->timers_ = std::make_unique<TimerQueue>(
      options.clock != nullptr ? *options.clock : RealClock());

  for (int i = 0; i < config.pools_size(); ++i) {
    const PoolConfig& pool_config = config.pools(i);
    auto entry = std::make_unique<PoolEntry>();
    entry->config = pool_config;
    entry->protocol = FindProtocol(pool_config.protocol());
    if (entry->protocol == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pools[", i, "].protocol: required: ", ProtocolNamesForErrors()));
    }
    if (!entry->protocol->has_endpoints) {
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
      entry->headers = headers;
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
      backend_options.protocol = ToOpenAi(*entry->protocol);
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
  // Fallback pools: a request failed by its pool goes there (the wrappers
  // take each pool's own backend, so fallbacks do not chain).
  for (const auto& entry : upstreams->pools_) {
    auto fallback = upstreams->by_name_.find(entry->config.fallback_pool());
    if (entry->config.fallback_pool().empty() ||
        fallback == upstreams->by_name_.end()) {
      continue;
    }
    const PoolEntry& other = *fallback->second;
    if (entry->own_chat() != nullptr && other.own_chat() != nullptr) {
      entry->chat_with_fallback = std::make_unique<FallbackChatBackend>(
          *entry->own_chat(), *other.own_chat());
    }
    if (entry->own_transcriber() != nullptr &&
        other.own_transcriber() != nullptr) {
      entry->transcriber_with_fallback =
          std::make_unique<FallbackTranscriptionBackend>(
              *entry->own_transcriber(), *other.own_transcriber());
    }
  }
  // The servers' own model ids become routable once they answer.
  upstreams->RefreshModels();
  upstreams->ScheduleModelRefresh();
  return upstreams;
}

Upstreams::~Upstreams() {
  {
    absl::MutexLock lock(&refresh_mu_);
    stopping_ = true;
    if (timers_ != nullptr) timers_->Cancel(refresh_timer_);
  }
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
    // Then the ids the servers themselves report (llama-server names its
    // model after the file; ChatResponse.model returns that name).
    if (chosen == nullptr) {
      absl::MutexLock lock(&reported_mu_);
      for (const auto& entry : pools_) {
        auto reported = reported_.find(entry->config.name());
        if (chosen == nullptr && capable(*entry) &&
            reported != reported_.end() &&
            std::find(reported->second.begin(), reported->second.end(),
                      model) != reported->second.end()) {
          chosen = entry.get();
        }
      }
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
    return pool.protocol->audio_chat;
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

void Upstreams::RefreshModels(std::function<void()> done) {
  // Straight to each endpoint, like a health check: not a call, so it takes no
  // pool slot and is not counted as an upstream request. A pool's answer is
  // the union of its endpoints'; a pool none of whose endpoints answered keeps
  // what it reported before.
  struct PoolAnswers {
    absl::Mutex mu;
    std::vector<std::string> ids;
    bool answered = false;
    int remaining = 0;
  };
  struct Gather {
    std::atomic<int> remaining{1};  // this function's share, released last
    std::function<void()> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  auto finish_one = [gather] {
    if (gather->remaining.fetch_sub(1) == 1 && gather->done) gather->done();
  };
  for (const auto& entry : pools_) {
    if (entry->openai == nullptr || entry->config.endpoints().empty()) continue;
    auto answers = std::make_shared<PoolAnswers>();
    answers->remaining = entry->config.endpoints_size();
    for (const auto& endpoint : entry->config.endpoints()) {
      gather->remaining.fetch_add(1);
      HttpRequest request = ModelsHttpRequest(endpoint.url());
      request.headers = entry->headers;
      request.headers.emplace_back("x-request-id", kModelRefreshRequestId);
      request.deadline = absl::Now() + absl::Seconds(5);
      http_->Fetch(std::move(request), [this, answers, finish_one,
                                        pool = entry->config.name()](
                                           absl::StatusOr<HttpResponse> got) {
        absl::StatusOr<std::vector<std::string>> ids =
            got.ok() && got->status_code == 200
                ? ParseModelList(got->body)
                : absl::StatusOr<std::vector<std::string>>(
                      absl::UnavailableError("no model list"));
        bool last;
        {
          absl::MutexLock lock(&answers->mu);
          if (ids.ok()) {
            answers->answered = true;
            for (std::string& id : *ids) {
              if (std::find(answers->ids.begin(), answers->ids.end(), id) ==
                  answers->ids.end()) {
                answers->ids.push_back(std::move(id));
              }
            }
          }
          last = --answers->remaining == 0;
        }
        if (last && answers->answered) {
          absl::MutexLock lock(&reported_mu_);
          reported_[pool] = answers->ids;
        }
        finish_one();
      });
    }
  }
  finish_one();
}

void Upstreams::ScheduleModelRefresh() {
  absl::MutexLock lock(&refresh_mu_);
  if (stopping_) return;
  refresh_timer_ = timers_->ScheduleAfter(kModelRefreshInterval, [this] {
    {
      absl::MutexLock lock(&refresh_mu_);
      if (stopping_) return;
      RefreshModels();
    }
    ScheduleModelRefresh();
  });
}

std::map<std::string, std::vector<std::string>> Upstreams::ReportedModels()
    const {
  absl::MutexLock lock(&reported_mu_);
  return reported_;
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
