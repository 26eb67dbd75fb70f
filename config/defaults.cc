#include "config/defaults.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/cpu_quota.h"
#include "google/protobuf/util/time_util.h"
#include "upstream/protocols.h"

namespace voxgate {
namespace {

using ::google::protobuf::Duration;
using ::google::protobuf::util::TimeUtil;
using ::voxgate::config::v1::PoolConfig;
using ::voxgate::config::v1::Protocol;

constexpr int64_t kMiB = 1024 * 1024;

void DefaultDuration(Duration* duration, int64_t seconds) {
  if (duration->seconds() == 0 && duration->nanos() == 0) {
    *duration = TimeUtil::SecondsToDuration(seconds);
  }
}

// Sets a numeric field still at its proto default (0) to the documented
// default.
#define VOXGATE_DEFAULT(message, field, value) \
  if ((message).field() == 0) (message).set_##field(value)

void ApplyPoolDefaults(PoolConfig& pool) {
  for (auto& endpoint : *pool.mutable_endpoints()) {
    VOXGATE_DEFAULT(endpoint, weight, 1);
    // Not a llama-server's 4 slots: a server that batches (vLLM, TGI,
    // OpenAI) capped at 4 by the gateway runs a fraction of its throughput,
    // while a llama-server sent more queues them itself (bench/README.md,
    // issue 19). Pools of several llama-servers set their slots, so that the
    // gateway queues and balances instead.
    VOXGATE_DEFAULT(endpoint, max_concurrency, 64);
  }
  VOXGATE_DEFAULT(pool, max_queue, 256);
  VOXGATE_DEFAULT(pool, max_attempts, 3);
  // queue_timeout stays unset: a request waits for a slot up to its own
  // deadline unless the operator caps the wait.
  DefaultDuration(pool.mutable_connect_timeout(), 2);
  if (!pool.has_first_byte_timeout()) {
    *pool.mutable_first_byte_timeout() = TimeUtil::SecondsToDuration(120);
  }
  if (!pool.has_stall_timeout()) {
    *pool.mutable_stall_timeout() = TimeUtil::SecondsToDuration(60);
  }
  auto& health = *pool.mutable_health_check();
  if (!health.has_path()) health.set_path("/health");
  DefaultDuration(health.mutable_interval(), 10);
  DefaultDuration(health.mutable_timeout(), 2);
  const upstream::ProtocolInfo* protocol =
      upstream::FindProtocol(pool.protocol());
  if (protocol == nullptr) return;  // validation names the field
  if (protocol->default_system_prompt != nullptr &&
      pool.system_prompt().empty()) {
    pool.set_system_prompt(protocol->default_system_prompt);
  }
  if (*protocol->default_model != '\0' && pool.models().empty()) {
    pool.add_models(protocol->default_model);
  }
}

}  // namespace

bool IsAudioProtocol(Protocol protocol) {
  const upstream::ProtocolInfo* info = upstream::FindProtocol(protocol);
  return info != nullptr && info->transcribes;
}

bool IsChatProtocol(Protocol protocol) {
  const upstream::ProtocolInfo* info = upstream::FindProtocol(protocol);
  return info != nullptr && info->text_chat;
}

void ApplyDefaults(Config& config) {
  auto& server = *config.mutable_server();
  if (server.listen().empty()) server.set_listen("0.0.0.0:50051");
  if (server.admin_listen().empty()) server.set_admin_listen("0.0.0.0:9464");
  if (server.http_listen().empty()) server.set_http_listen("0.0.0.0:8080");
  auto& http = *config.mutable_http();
  VOXGATE_DEFAULT(http, max_header_bytes, 16 * 1024);
  DefaultDuration(http.mutable_header_timeout(), 10);
  DefaultDuration(http.mutable_body_timeout(), 60);
  DefaultDuration(http.mutable_idle_timeout(), 60);
  VOXGATE_DEFAULT(http, max_websocket_message_bytes, kMiB);
  VOXGATE_DEFAULT(http, threads, 1);
  VOXGATE_DEFAULT(http, max_body_bytes_in_flight, 256 * kMiB);
  VOXGATE_DEFAULT(http, max_connections, 10000);
  if (!http.has_max_connections_per_peer()) {
    http.set_max_connections_per_peer(1000);
  }
  auto& tls = *config.mutable_tls();
  DefaultDuration(tls.mutable_reload_interval(), 10);
  if (!tls.has_require_client_cert()) tls.set_require_client_cert(true);
  if (!tls.has_http()) tls.set_http(true);
  DefaultDuration(config.mutable_auth()->mutable_reload_interval(), 5);
  auto& redis = *config.mutable_redis();
  if (redis.timeout().seconds() == 0 && redis.timeout().nanos() == 0) {
    *redis.mutable_timeout() = TimeUtil::MillisecondsToDuration(250);
  }
  DefaultDuration(redis.mutable_reconnect_interval(), 1);
  DefaultDuration(redis.mutable_lease_ttl(), 1);
  if (redis.on_failure() == config::v1::REDIS_FAILURE_POLICY_UNSPECIFIED) {
    redis.set_on_failure(config::v1::REDIS_FAILURE_POLICY_OPEN);
  }
  if (redis.key_prefix().empty()) redis.set_key_prefix("voxgate:");
  VOXGATE_DEFAULT(redis, max_pending, 10000);
  VOXGATE_DEFAULT(redis, lease_size, 32);
  VOXGATE_DEFAULT(server, max_receive_message_bytes, 32 * kMiB);
  DefaultDuration(server.mutable_keepalive_time(), 2 * 3600);
  DefaultDuration(server.mutable_keepalive_timeout(), 20);
  DefaultDuration(server.mutable_min_client_ping_interval(), 10);
  if (!server.has_permit_keepalive_without_calls()) {
    server.set_permit_keepalive_without_calls(true);
  }
  if (!server.has_drain_timeout()) {
    *server.mutable_drain_timeout() = TimeUtil::SecondsToDuration(30);
  }

  // Audio always has somewhere to go: with no pool that takes audio, the
  // embedded engine serves it (as with no pools at all).
  if (std::none_of(config.pools().begin(), config.pools().end(),
                   [](const PoolConfig& pool) {
                     return IsAudioProtocol(pool.protocol());
                   }) &&
      config.routing().audio_pool().empty()) {
    PoolConfig* embedded = config.add_pools();
    embedded->set_name("embedded");
    embedded->set_protocol(config::v1::PROTOCOL_EMBEDDED);
  }
  for (auto& pool : *config.mutable_pools()) ApplyPoolDefaults(pool);

  auto& routing = *config.mutable_routing();
  for (const auto& pool : config.pools()) {
    if (routing.audio_pool().empty() && IsAudioProtocol(pool.protocol())) {
      routing.set_audio_pool(pool.name());
    }
    const upstream::ProtocolInfo* protocol =
        upstream::FindProtocol(pool.protocol());
    // The first pool that chats with text only: an audio chat pool serves
    // text too, but is kept for audio unless routed to.
    if (routing.text_pool().empty() && protocol != nullptr &&
        protocol->text_chat && !protocol->audio_chat) {
      routing.set_text_pool(pool.name());
    }
  }
  if (routing.mode() == config::v1::ROUTING_MODE_UNSPECIFIED) {
    routing.set_mode(!routing.text_pool().empty() &&
                             routing.text_pool() != routing.audio_pool()
                         ? config::v1::ROUTING_MODE_AUDIO_TEXT
                         : config::v1::ROUTING_MODE_SINGLE);
  }

  auto& audio = *config.mutable_audio();
  VOXGATE_DEFAULT(audio, target_sample_rate_hertz, 16000);
  if (!audio.has_normalize_loudness()) audio.set_normalize_loudness(true);
  VOXGATE_DEFAULT(audio, target_loudness_lufs, -16.0f);
  VOXGATE_DEFAULT(audio, max_audio_bytes, 32 * kMiB);
  DefaultDuration(audio.mutable_max_audio_duration(), 4 * 3600);
  DefaultDuration(audio.mutable_max_chunk(), 30);
  if (!audio.has_chunk_overlap()) {
    *audio.mutable_chunk_overlap() = TimeUtil::MillisecondsToDuration(500);
  }
  // The container's CPU quota, not the node's cores: each worker may hold an
  // embedded decoder of about 100 MB.
  VOXGATE_DEFAULT(audio, worker_threads, CurrentCpuBudget().usable_cpus());
  VOXGATE_DEFAULT(audio, worker_queue, 256);
  VOXGATE_DEFAULT(audio, max_spool_bytes, 512 * kMiB);
  VOXGATE_DEFAULT(audio, max_decoded_bytes, 256 * kMiB);
  if (!audio.has_max_chat_audio_duration() ||
      TimeUtil::DurationToMilliseconds(audio.max_chat_audio_duration()) == 0) {
    // Ten minutes, or all a request may have when that is less.
    *audio.mutable_max_chat_audio_duration() =
        std::min(TimeUtil::SecondsToDuration(600), audio.max_audio_duration());
  }
  auto& fetch = *audio.mutable_fetch();
  if (!fetch.has_max_redirects()) fetch.set_max_redirects(3);
  DefaultDuration(fetch.mutable_timeout(), 120);
  DefaultDuration(fetch.mutable_connect_timeout(), 10);

  auto& limits = *config.mutable_limits();
  VOXGATE_DEFAULT(limits, max_concurrent_calls, 1024);
  VOXGATE_DEFAULT(limits, max_chunks_in_flight, 8);
  VOXGATE_DEFAULT(limits, max_streams, 1024);
  VOXGATE_DEFAULT(*config.mutable_auth(), default_tenant_share_percent, 50);
  VOXGATE_DEFAULT(limits, max_long_polls, 256);
  DefaultDuration(limits.mutable_max_stream_duration(), 3600);
  DefaultDuration(limits.mutable_stream_idle_timeout(), 30);
  if (!limits.has_admission_wait()) {
    *limits.mutable_admission_wait() = TimeUtil::SecondsToDuration(1);
  }
  VOXGATE_DEFAULT(limits, max_waiting_calls, 256);
  DefaultDuration(limits.mutable_default_unary_deadline(), 5 * 60);
  DefaultDuration(limits.mutable_default_stream_deadline(), 60 * 60);

  auto& batch = *config.mutable_batch();
  VOXGATE_DEFAULT(batch, max_files, 1000);
  VOXGATE_DEFAULT(batch, max_running, 2);
  VOXGATE_DEFAULT(batch, max_queued, 64);
  VOXGATE_DEFAULT(batch, max_inline_bytes, 128 * kMiB);
  VOXGATE_DEFAULT(batch, max_files_in_flight, 4);
  DefaultDuration(batch.mutable_file_timeout(), 3600);
  DefaultDuration(batch.mutable_result_ttl(), 24 * 3600);
  DefaultDuration(batch.mutable_lease_interval(), 5);
  DefaultDuration(batch.mutable_cancel_poll_interval(), 1);

  if (config.logging().level() == config::v1::LOG_LEVEL_UNSPECIFIED) {
    config.mutable_logging()->set_level(config::v1::LOG_LEVEL_INFO);
  }
}

#undef VOXGATE_DEFAULT

}  // namespace voxgate
