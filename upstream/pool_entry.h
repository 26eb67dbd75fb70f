#ifndef VOXGATE_UPSTREAM_POOL_ENTRY_H_
#define VOXGATE_UPSTREAM_POOL_ENTRY_H_

// One configured pool as Upstreams holds it: its endpoints, budget, metrics and
// the backend built for its protocol. Private to upstreams*.cc.

#include <memory>
#include <string>

#include "upstream/fallback_backend.h"
#include "upstream/openai_backend.h"
#include "upstream/pool.h"
#include "upstream/protocols.h"
#include "upstream/retry_budget.h"
#include "upstream/upstream_metrics.h"
#include "upstream/upstreams.h"
#include "voxgate/config/v1/config.pb.h"

namespace voxgate::upstream {

struct Upstreams::PoolEntry {
  config::v1::PoolConfig config;
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

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_POOL_ENTRY_H_
