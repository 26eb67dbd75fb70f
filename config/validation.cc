#include "config/validation.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "config/defaults.h"
#include "google/protobuf/util/time_util.h"
#include "upstream/protocols.h"

namespace voxgate {
namespace {

using ::google::protobuf::Duration;
using ::google::protobuf::util::TimeUtil;
using ::voxgate::config::v1::PoolConfig;
using ::voxgate::config::v1::Protocol;

constexpr int64_t kMiB = 1024 * 1024;

absl::Status KeyError(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::Status ValidateAddress(absl::string_view path,
                             const std::string& address) {
  const std::size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return KeyError(
        path, absl::StrCat("expected host:port such as 0.0.0.0:50051, got \"",
                           address, "\""));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status ValidateRange(absl::string_view path, T value, T low, T high) {
  if (value < low || value > high) {
    return KeyError(path, absl::StrCat("must be between ", low, " and ", high,
                                       ", got ", value));
  }
  return absl::OkStatus();
}

bool IsValidPoolName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

absl::Status ValidateEndpointUrl(absl::string_view path,
                                 const std::string& url) {
  const bool http = absl::StartsWith(url, "http://");
  const bool https = absl::StartsWith(url, "https://");
  const std::size_t host_start = http ? 7 : 8;
  if ((!http && !https) || url.size() <= host_start || url[host_start] == '/') {
    return KeyError(
        path, absl::StrCat("expected an http:// or https:// URL with a host, "
                           "got \"",
                           url, "\""));
  }
  // user:password@ would reach logs and the endpoint metric label: keys
  // belong in api_key_env or api_key_file. (The URL is not repeated: it
  // holds the secret.)
  const absl::string_view authority = absl::string_view(url).substr(
      host_start, url.find_first_of("/?#", host_start) - host_start);
  if (absl::StrContains(authority, '@')) {
    return KeyError(path,
                    "a URL with user information (user:password@) is "
                    "refused; give the key with api_key_env or api_key_file");
  }
  return absl::OkStatus();
}

absl::Status ValidatePool(const std::string& path, const PoolConfig& pool,
                          const std::set<std::string>& pool_names) {
  if (!IsValidPoolName(pool.name())) {
    return KeyError(
        path + ".name",
        absl::StrCat("expected [a-z0-9_-]{1,63}, got \"", pool.name(), "\""));
  }
  const upstream::ProtocolInfo* protocol =
      upstream::FindProtocol(pool.protocol());
  if (protocol == nullptr) {
    return KeyError(
        path + ".protocol",
        absl::StrCat("required: ", upstream::ProtocolNamesForErrors()));
  }
  if (!protocol->has_endpoints && !pool.endpoints().empty()) {
    return KeyError(
        path + ".endpoints",
        absl::StrCat("must be empty for the ", protocol->name, " protocol"));
  }
  if (protocol->has_endpoints && pool.endpoints().empty()) {
    return KeyError(path + ".endpoints", "at least one endpoint is required");
  }
  for (int i = 0; i < pool.endpoints_size(); ++i) {
    const auto& endpoint = pool.endpoints(i);
    const std::string endpoint_path = absl::StrCat(path, ".endpoints[", i, "]");
    RETURN_IF_ERROR(
        ValidateEndpointUrl(endpoint_path + ".url", endpoint.url()));
    RETURN_IF_ERROR(
        ValidateRange(endpoint_path + ".weight", endpoint.weight(), 1u, 1000u));
    RETURN_IF_ERROR(ValidateRange(endpoint_path + ".max_concurrency",
                                  endpoint.max_concurrency(), 1u, 4096u));
  }
  if (!pool.api_key_env().empty() && !pool.api_key_file().empty()) {
    return KeyError(path + ".api_key_file",
                    "set api_key_env or api_key_file, not both");
  }
  if (!pool.fallback_pool().empty()) {
    if (pool.fallback_pool() == pool.name()) {
      return KeyError(path + ".fallback_pool",
                      "a pool cannot fall back to itself");
    }
    if (!pool_names.count(pool.fallback_pool())) {
      return KeyError(
          path + ".fallback_pool",
          absl::StrCat("no pool named \"", pool.fallback_pool(), "\""));
    }
  }
  RETURN_IF_ERROR(
      ValidateRange(path + ".max_attempts", pool.max_attempts(), 1u, 10u));
  RETURN_IF_ERROR(ValidateRange<int64_t>(path + ".first_byte_timeout",
                                         pool.first_byte_timeout().seconds(), 0,
                                         24 * 3600));
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      path + ".stall_timeout", pool.stall_timeout().seconds(), 0, 24 * 3600));
  for (const auto& [model, defaults] : pool.model_defaults()) {
    const std::string entry =
        absl::StrCat(path, ".model_defaults[\"", model, "\"]");
    // Written so that NaN is refused too.
    if (defaults.has_temperature() &&
        !(defaults.temperature() >= 0 && defaults.temperature() <= 2)) {
      return KeyError(entry + ".temperature",
                      absl::StrCat("must be between 0 and 2, got ",
                                   defaults.temperature()));
    }
    if (defaults.has_top_p() &&
        !(defaults.top_p() >= 0 && defaults.top_p() <= 1)) {
      return KeyError(
          entry + ".top_p",
          absl::StrCat("must be between 0 and 1, got ", defaults.top_p()));
    }
    if (defaults.has_max_tokens()) {
      RETURN_IF_ERROR(ValidateRange(entry + ".max_tokens",
                                    defaults.max_tokens(), 1, 1048576));
    }
  }
  if (pool.health_check().has_path() && !pool.health_check().path().empty() &&
      pool.health_check().path()[0] != '/') {
    return KeyError(path + ".health_check.path", "must start with /");
  }
  return absl::OkStatus();
}

absl::Status ValidateRouting(const Config& config) {
  std::map<std::string, Protocol> protocols;
  for (const auto& pool : config.pools())
    protocols[pool.name()] = pool.protocol();
  const auto& routing = config.routing();
  if (!routing.audio_pool().empty()) {
    auto it = protocols.find(routing.audio_pool());
    if (it == protocols.end()) {
      return KeyError(
          "routing.audio_pool",
          absl::StrCat("no pool named \"", routing.audio_pool(), "\""));
    }
    if (!IsAudioProtocol(it->second)) {
      return KeyError(
          "routing.audio_pool",
          absl::StrCat("pool \"", routing.audio_pool(),
                       "\" speaks openai_chat, which cannot take audio"));
    }
  }
  if (!routing.text_pool().empty()) {
    auto it = protocols.find(routing.text_pool());
    if (it == protocols.end()) {
      return KeyError(
          "routing.text_pool",
          absl::StrCat("no pool named \"", routing.text_pool(), "\""));
    }
    if (!IsChatProtocol(it->second)) {
      return KeyError("routing.text_pool",
                      absl::StrCat("pool \"", routing.text_pool(),
                                   "\" cannot chat; use an openai_chat pool"));
    }
  }
  for (const auto& [model, pool] : routing.model_routes()) {
    if (!protocols.count(pool)) {
      return KeyError(absl::StrCat("routing.model_routes.", model),
                      absl::StrCat("no pool named \"", pool, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDuration(absl::string_view path, const Duration& value,
                              absl::Duration low, absl::Duration high) {
  const absl::Duration given =
      absl::Milliseconds(TimeUtil::DurationToMilliseconds(value));
  if (given < low || given > high) {
    return KeyError(path,
                    absl::StrCat("must be between ", absl::FormatDuration(low),
                                 " and ", absl::FormatDuration(high), ", got ",
                                 absl::FormatDuration(given)));
  }
  return absl::OkStatus();
}

absl::Status ValidateTenancy(const Config& config) {
  const auto& tls = config.tls();
  if (tls.cert_file().empty() != tls.key_file().empty()) {
    return KeyError(tls.cert_file().empty() ? "tls.cert_file" : "tls.key_file",
                    "tls.cert_file and tls.key_file go together");
  }
  if (tls.cert_file().empty() && !tls.client_ca_file().empty()) {
    return KeyError("tls.client_ca_file",
                    "needs tls.cert_file and tls.key_file");
  }
  if (tls.cert_file().empty() && tls.admin()) {
    return KeyError("tls.admin", "needs tls.cert_file and tls.key_file");
  }
  RETURN_IF_ERROR(ValidateDuration("tls.reload_interval", tls.reload_interval(),
                                   absl::Seconds(1), absl::Hours(1)));
  RETURN_IF_ERROR(ValidateDuration("auth.reload_interval",
                                   config.auth().reload_interval(),
                                   absl::Seconds(1), absl::Hours(1)));
  const auto& redis = config.redis();
  if (!redis.operations_address().empty()) {
    if (redis.address().empty()) {
      return KeyError("redis.operations_address",
                      "needs redis.address: operations are shared between "
                      "replicas only when the limits are");
    }
    RETURN_IF_ERROR(ValidateAddress("redis.operations_address",
                                    redis.operations_address()));
  }
  if (!redis.address().empty()) {
    RETURN_IF_ERROR(ValidateAddress("redis.address", redis.address()));
  }
  RETURN_IF_ERROR(ValidateDuration("redis.timeout", redis.timeout(),
                                   absl::Milliseconds(10), absl::Seconds(10)));
  RETURN_IF_ERROR(ValidateDuration("redis.reconnect_interval",
                                   redis.reconnect_interval(),
                                   absl::Milliseconds(100), absl::Minutes(1)));
  RETURN_IF_ERROR(ValidateDuration("redis.lease_ttl", redis.lease_ttl(),
                                   absl::Milliseconds(100), absl::Minutes(1)));
  RETURN_IF_ERROR(
      ValidateRange<int64_t>("redis.lease_size", redis.lease_size(), 1, 1000));
  return ValidateRange<int64_t>("redis.max_pending", redis.max_pending(), 1,
                                1000000);
}

absl::Status ValidateBatch(const config::v1::BatchConfig& batch) {
  RETURN_IF_ERROR(
      ValidateRange("batch.max_files", batch.max_files(), 1u, 100000u));
  RETURN_IF_ERROR(
      ValidateRange("batch.max_running", batch.max_running(), 1u, 1024u));
  RETURN_IF_ERROR(
      ValidateRange("batch.max_queued", batch.max_queued(), 1u, 100000u));
  RETURN_IF_ERROR(ValidateRange<int64_t>("batch.max_inline_bytes",
                                         batch.max_inline_bytes(), kMiB,
                                         int64_t{1} << 40));
  RETURN_IF_ERROR(ValidateRange("batch.max_files_in_flight",
                                batch.max_files_in_flight(), 1u, 256u));
  RETURN_IF_ERROR(ValidateDuration("batch.file_timeout", batch.file_timeout(),
                                   absl::Seconds(1), absl::Hours(24)));
  RETURN_IF_ERROR(ValidateDuration("batch.result_ttl", batch.result_ttl(),
                                   absl::Seconds(1), absl::Hours(24 * 30)));
  RETURN_IF_ERROR(ValidateDuration("batch.lease_interval",
                                   batch.lease_interval(),
                                   absl::Milliseconds(100), absl::Minutes(1)));
  return ValidateDuration("batch.cancel_poll_interval",
                          batch.cancel_poll_interval(), absl::Milliseconds(100),
                          absl::Minutes(1));
}

}  // namespace

absl::Status Validate(const Config& config) {
  RETURN_IF_ERROR(ValidateTenancy(config));
  const auto& server = config.server();
  RETURN_IF_ERROR(ValidateAddress("server.listen", server.listen()));
  RETURN_IF_ERROR(
      ValidateAddress("server.admin_listen", server.admin_listen()));
  if (server.http_listen() != "off") {
    RETURN_IF_ERROR(
        ValidateAddress("server.http_listen", server.http_listen()));
  }
  const auto& http = config.http();
  RETURN_IF_ERROR(ValidateRange<int64_t>("http.max_header_bytes",
                                         http.max_header_bytes(), 1024, kMiB));
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      "http.header_timeout", http.header_timeout().seconds(), 1, 300));
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      "http.body_timeout", http.body_timeout().seconds(), 1, 3600));
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      "http.idle_timeout", http.idle_timeout().seconds(), 1, 3600));
  RETURN_IF_ERROR(ValidateRange<int64_t>("http.max_websocket_message_bytes",
                                         http.max_websocket_message_bytes(),
                                         1024, 16 * kMiB));
  RETURN_IF_ERROR(
      ValidateRange<int64_t>("http.threads", http.threads(), 1, 64));
  RETURN_IF_ERROR(ValidateRange<int64_t>("http.max_connections",
                                         http.max_connections(), 16, 1000000));
  RETURN_IF_ERROR(ValidateRange<int64_t>("http.max_connections_per_peer",
                                         http.max_connections_per_peer(), 0,
                                         1000000));
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      "http.max_body_bytes_in_flight", http.max_body_bytes_in_flight(),
      config.server().max_receive_message_bytes(), int64_t{1} << 40));
  for (int i = 0; i < http.cors_allowed_origins_size(); ++i) {
    const std::string& origin = http.cors_allowed_origins(i);
    if (origin != "*" && !absl::StartsWith(origin, "http://") &&
        !absl::StartsWith(origin, "https://")) {
      return KeyError(absl::StrCat("http.cors_allowed_origins[", i, "]"),
                      absl::StrCat("expected \"*\" or an origin such as "
                                   "https://app.example.com, got \"",
                                   origin, "\""));
    }
  }
  RETURN_IF_ERROR(ValidateRange("server.max_receive_message_bytes",
                                server.max_receive_message_bytes(), kMiB,
                                1024 * kMiB));
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      "server.drain_timeout", server.drain_timeout().seconds(), 0, 3600));

  std::set<std::string> names;
  for (const auto& pool : config.pools()) names.insert(pool.name());
  std::set<std::string> seen;
  for (int i = 0; i < config.pools_size(); ++i) {
    const std::string path = absl::StrCat("pools[", i, "]");
    RETURN_IF_ERROR(ValidatePool(path, config.pools(i), names));
    if (!seen.insert(config.pools(i).name()).second) {
      return KeyError(
          path + ".name",
          absl::StrCat("duplicate pool name \"", config.pools(i).name(), "\""));
    }
  }
  RETURN_IF_ERROR(ValidateRouting(config));

  const auto& audio = config.audio();
  RETURN_IF_ERROR(ValidateRange("audio.target_sample_rate_hertz",
                                audio.target_sample_rate_hertz(), 8000, 48000));
  RETURN_IF_ERROR(ValidateRange("audio.target_loudness_lufs",
                                audio.target_loudness_lufs(), -70.0f, -5.0f));
  RETURN_IF_ERROR(ValidateRange("audio.max_audio_bytes",
                                audio.max_audio_bytes(), int64_t{1024},
                                1024 * kMiB));
  RETURN_IF_ERROR(
      ValidateRange("audio.worker_threads", audio.worker_threads(), 1u, 256u));
  RETURN_IF_ERROR(ValidateRange<int64_t>("audio.max_chunk",
                                         audio.max_chunk().seconds(), 1, 600));
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      "audio.max_spool_bytes", audio.max_spool_bytes(), 0, int64_t{1} << 40));
  RETURN_IF_ERROR(ValidateRange("auth.default_tenant_share_percent",
                                config.auth().default_tenant_share_percent(),
                                1u, 100u));
  RETURN_IF_ERROR(ValidateRange<int64_t>("audio.max_decoded_bytes",
                                         audio.max_decoded_bytes(), 16 * kMiB,
                                         int64_t{1} << 40));
  RETURN_IF_ERROR(ValidateDuration(
      "audio.max_chat_audio_duration", audio.max_chat_audio_duration(),
      absl::Seconds(1),
      absl::Milliseconds(
          TimeUtil::DurationToMilliseconds(audio.max_audio_duration()))));
  RETURN_IF_ERROR(ValidateRange("audio.fetch.max_redirects",
                                audio.fetch().max_redirects(), 0u, 10u));
  RETURN_IF_ERROR(ValidateDuration("audio.fetch.timeout",
                                   audio.fetch().timeout(), absl::Seconds(1),
                                   absl::Hours(1)));
  RETURN_IF_ERROR(ValidateDuration("audio.fetch.connect_timeout",
                                   audio.fetch().connect_timeout(),
                                   absl::Milliseconds(100), absl::Minutes(5)));
  const auto& limits = config.limits();
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      "limits.default_unary_deadline",
      limits.default_unary_deadline().seconds(), 1, 24 * 3600));
  RETURN_IF_ERROR(ValidateRange<int64_t>(
      "limits.default_stream_deadline",
      limits.default_stream_deadline().seconds(), 1, 24 * 3600));
  return ValidateBatch(config.batch());
}

}  // namespace voxgate
