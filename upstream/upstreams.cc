#include "upstream/upstreams.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/timer_queue.h"
#include "upstream/fallback_backend.h"
#include "upstream/http_client.h"
#include "upstream/pool_entry.h"
#include "upstream/protocols.h"

namespace voxgate::upstream {

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
    auto entry = upstreams->BuildPool(config.pools(i), i, options);
    if (!entry.ok()) return entry.status();
    upstreams->by_name_[config.pools(i).name()] = entry->get();
    upstreams->pools_.push_back(std::move(*entry));
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
