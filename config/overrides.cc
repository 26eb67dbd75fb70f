#include "config/overrides.h"

#include <functional>
#include <map>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "config/yaml_proto.h"

namespace voxgate {
namespace {

using ::voxgate::config::v1::PoolConfig;
using ::voxgate::config::v1::Protocol;
using ::voxgate::config::v1::RoutingMode;

absl::Status FlagError(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

// Sets one config key from flag text by parsing a one-line YAML document, so
// flags, environment variables and the file share one parser and one set of
// messages.
absl::Status SetKey(absl::string_view flag, absl::string_view section,
                    absl::string_view key, absl::string_view value,
                    Config& config) {
  Config patch;
  absl::Status status = ParseYamlIntoMessage(
      absl::StrCat(section, ":\n  ", key, ": \"", absl::CEscape(value), "\"\n"),
      patch);
  if (!status.ok()) {
    // Drop the YAML path; the flag names the key.
    const absl::string_view message = status.message();
    const std::size_t colon = message.find(": ");
    return FlagError(flag, colon == absl::string_view::npos
                               ? message
                               : message.substr(colon + 2));
  }
  config.MergeFrom(patch);
  return absl::OkStatus();
}

// The quick-setup flags, gathered before they turn into pools.
struct QuickSetup {
  std::optional<std::string> text_base_url;
  std::optional<std::string> audio_base_url;
  std::optional<std::string> routing_mode;
  std::optional<std::string> audio_protocol;
  std::optional<std::string> api_key_env;
  std::optional<std::string> text_model;
  std::optional<std::string> audio_model;
};

PoolConfig MakePool(std::string name, Protocol protocol, const std::string& url,
                    const QuickSetup& setup,
                    const std::optional<std::string>& model) {
  PoolConfig pool;
  pool.set_name(std::move(name));
  pool.set_protocol(protocol);
  pool.add_endpoints()->set_url(url);
  if (setup.api_key_env) pool.set_api_key_env(*setup.api_key_env);
  if (model) pool.add_models(*model);
  return pool;
}

absl::Status ApplyQuickSetup(const QuickSetup& setup, Config& config) {
  const bool any_url = setup.text_base_url || setup.audio_base_url;
  if (!any_url) {
    for (const auto& [flag, value] :
         {std::pair{"audio_protocol", setup.audio_protocol},
          std::pair{"api_key_env", setup.api_key_env},
          std::pair{"text_model", setup.text_model},
          std::pair{"audio_model", setup.audio_model}}) {
      if (value) {
        return FlagError(
            flag, "applies only with --text_base_url or --audio_base_url");
      }
    }
    if (setup.routing_mode) {
      return SetKey("routing_mode", "routing", "mode", *setup.routing_mode,
                    config);
    }
    return absl::OkStatus();
  }
  if (config.pools_size() > 0) {
    return FlagError(
        setup.text_base_url ? "text_base_url" : "audio_base_url",
        "the config file already defines pools; configure endpoints "
        "in one place");
  }

  Protocol audio_protocol = config::v1::PROTOCOL_OPENAI_CHAT_AUDIO;
  if (setup.audio_protocol) {
    if (*setup.audio_protocol == "transcriptions") {
      audio_protocol = config::v1::PROTOCOL_OPENAI_TRANSCRIPTIONS;
    } else if (*setup.audio_protocol != "chat_audio") {
      return FlagError(
          "audio_protocol",
          absl::StrCat("expected chat_audio or transcriptions, got \"",
                       *setup.audio_protocol, "\""));
    }
  }

  // One URL for both only when the audio URL is given and the same: a text
  // URL alone is usually a text-only server (llama-server, Ollama), so audio
  // stays with the embedded engine unless --routing_mode=single says
  // otherwise.
  RoutingMode mode =
      setup.audio_base_url && (!setup.text_base_url ||
                               *setup.text_base_url == *setup.audio_base_url)
          ? config::v1::ROUTING_MODE_SINGLE
          : config::v1::ROUTING_MODE_AUDIO_TEXT;
  if (setup.routing_mode) {
    RETURN_IF_ERROR(
        SetKey("routing_mode", "routing", "mode", *setup.routing_mode, config));
    mode = config.routing().mode();
  }

  if (mode == config::v1::ROUTING_MODE_SINGLE) {
    if (setup.text_base_url && setup.audio_base_url &&
        *setup.text_base_url != *setup.audio_base_url) {
      return FlagError(
          "audio_base_url",
          "--routing_mode=single uses one base URL for audio and text; "
          "use --routing_mode=audio_text for two");
    }
    const std::string& url =
        setup.text_base_url ? *setup.text_base_url : *setup.audio_base_url;
    *config.add_pools() =
        MakePool("audio", audio_protocol, url, setup, setup.audio_model);
    *config.add_pools() = MakePool("text", config::v1::PROTOCOL_OPENAI_CHAT,
                                   url, setup, setup.text_model);
  } else {
    // A missing audio URL leaves audio to the embedded engine; a missing text
    // URL leaves the gateway without chat.
    if (setup.audio_base_url) {
      *config.add_pools() =
          MakePool("audio", audio_protocol, *setup.audio_base_url, setup,
                   setup.audio_model);
    } else {
      PoolConfig* embedded = config.add_pools();
      embedded->set_name("audio");
      embedded->set_protocol(config::v1::PROTOCOL_EMBEDDED);
    }
    if (setup.text_base_url) {
      *config.add_pools() =
          MakePool("text", config::v1::PROTOCOL_OPENAI_CHAT,
                   *setup.text_base_url, setup, setup.text_model);
    }
  }
  config.mutable_routing()->set_mode(mode);
  config.mutable_routing()->set_audio_pool("audio");
  if (config.pools_size() > 1) config.mutable_routing()->set_text_pool("text");
  return absl::OkStatus();
}

}  // namespace

const std::vector<OverrideFlag>& OverrideFlags() {
  static const auto* const kFlags = new std::vector<OverrideFlag>{
      {"listen", "gRPC address (server.listen). Default 0.0.0.0:50051."},
      {"admin_listen",
       "HTTP address for /metrics, /healthz, /readyz (server.admin_listen). "
       "Default 0.0.0.0:9464."},
      {"http_listen",
       "HTTP address of the OpenAI-compatible API, WebSocket stream and "
       "captions page (server.http_listen); off disables it. Default "
       "0.0.0.0:8080."},
      {"max_receive_message_bytes",
       "Largest gRPC message accepted (server.max_receive_message_bytes). "
       "Default 33554432."},
      {"max_connection_age",
       "Close connections after this age so clients rebalance, e.g. 5m "
       "(server.max_connection_age). Default: never."},
      {"drain_timeout",
       "On SIGTERM, how long in-flight calls may finish "
       "(server.drain_timeout). "
       "Default 30s."},
      {"drain_delay",
       "On SIGTERM, keep serving this long while health says NOT_SERVING, "
       "so endpoint removal propagates first; replaces a preStop sleep "
       "(server.drain_delay). Default 0."},
      {"log_level",
       "debug, info, warning or error (logging.level). Default info."},
      {"text_base_url",
       "OpenAI-compatible base URL for chat, e.g. http://localhost:11434/v1."},
      {"audio_base_url",
       "OpenAI-compatible base URL for audio, e.g. http://localhost:8080/v1. "
       "Unset: the embedded engine."},
      {"routing_mode",
       "single (one URL for all) or audio_text (audio and text apart). "
       "Default: "
       "audio_text when the two URLs differ."},
      {"audio_protocol",
       "chat_audio (chat completions with input_audio) or transcriptions "
       "(/v1/audio/transcriptions). Default chat_audio."},
      {"api_key_env", "Environment variable holding the upstream API key."},
      {"text_model", "Model name sent to the text server."},
      {"audio_model", "Model name sent to the audio server."},
      {"tls_cert_file",
       "PEM certificate chain: serve gRPC and the HTTP API over TLS "
       "(tls.cert_file)."},
      {"tls_key_file", "PEM private key of the certificate (tls.key_file)."},
      {"tls_client_ca_file",
       "PEM CA bundle: require client certificates it signed, mTLS "
       "(tls.client_ca_file)."},
      {"tls_admin",
       "true: the admin port serves HTTPS too (tls.admin). Default false."},
      {"keys_file",
       "Tenants and hashed API keys: every call needs a key "
       "(auth.keys_file). Default: no authentication."},
      {"redis_address",
       "host:port of Redis for rate limits shared by replicas "
       "(redis.address). Default: limits local to each replica."},
  };
  return *kFlags;
}

absl::Status ApplyOverrides(
    const std::vector<std::pair<std::string, std::string>>& overrides,
    Config& config) {
  // Flag name to (config section, key) for the flags that set one key.
  static const auto* const kKeys =
      new std::map<std::string, std::pair<std::string, std::string>>{
          {"listen", {"server", "listen"}},
          {"admin_listen", {"server", "admin_listen"}},
          {"http_listen", {"server", "http_listen"}},
          {"max_receive_message_bytes",
           {"server", "max_receive_message_bytes"}},
          {"max_connection_age", {"server", "max_connection_age"}},
          {"drain_timeout", {"server", "drain_timeout"}},
          {"drain_delay", {"server", "drain_delay"}},
          {"log_level", {"logging", "level"}},
          {"tls_cert_file", {"tls", "cert_file"}},
          {"tls_key_file", {"tls", "key_file"}},
          {"tls_client_ca_file", {"tls", "client_ca_file"}},
          {"tls_admin", {"tls", "admin"}},
          {"keys_file", {"auth", "keys_file"}},
          {"redis_address", {"redis", "address"}},
      };
  QuickSetup setup;
  const std::map<std::string, std::optional<std::string>*> quick = {
      {"text_base_url", &setup.text_base_url},
      {"audio_base_url", &setup.audio_base_url},
      {"routing_mode", &setup.routing_mode},
      {"audio_protocol", &setup.audio_protocol},
      {"api_key_env", &setup.api_key_env},
      {"text_model", &setup.text_model},
      {"audio_model", &setup.audio_model},
  };
  for (const auto& [flag, value] : overrides) {
    if (auto key = kKeys->find(flag); key != kKeys->end()) {
      RETURN_IF_ERROR(
          SetKey(flag, key->second.first, key->second.second, value, config));
    } else if (auto slot = quick.find(flag); slot != quick.end()) {
      *slot->second = value;
    } else {
      return FlagError(flag, "unknown flag");
    }
  }
  return ApplyQuickSetup(setup, config);
}

}  // namespace voxgate
