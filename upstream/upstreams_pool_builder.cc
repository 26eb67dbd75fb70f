#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/proto_duration.h"
#include "upstream/openai_protocol.h"
#include "upstream/pool_entry.h"
#include "upstream/upstreams.h"

namespace voxgate::upstream {
namespace {

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

absl::StatusOr<std::unique_ptr<Upstreams::PoolEntry>> Upstreams::BuildPool(
    const PoolConfig& pool_config, int i, const Options& options) {
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
    pool_options.health_timeout = ToAbsl(pool_config.health_check().timeout());
    entry->pool = Pool::Create(std::move(pool_options), *http_, *timers_);
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
      entry->metrics = std::make_unique<PoolMetrics>(*options.registry,
                                                     pool_config.name(), urls);
    }
    PoolContext context{*entry->pool,        *http_, *timers_,
                        *entry->budget,      policy, std::move(headers),
                        entry->metrics.get()};
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
  return entry;
}

}  // namespace voxgate::upstream
