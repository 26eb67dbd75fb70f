#include "server/model_catalog.h"

#include <vector>

namespace voxgate::server {
namespace {

using ::voxgate::config::v1::PoolConfig;

// What each protocol can do whatever the server behind it. Word timestamps are
// left out for openai_transcriptions: vLLM and llama-server do not return them.
std::vector<v1::Capability> CapabilitiesOf(config::v1::Protocol protocol) {
  switch (protocol) {
    case config::v1::PROTOCOL_OPENAI_TRANSCRIPTIONS:
      return {v1::CAPABILITY_TRANSCRIBE, v1::CAPABILITY_TRANSLATE,
              v1::CAPABILITY_SEGMENT_TIMESTAMPS,
              v1::CAPABILITY_LANGUAGE_DETECTION};
    case config::v1::PROTOCOL_OPENAI_CHAT_AUDIO:
      return {v1::CAPABILITY_TRANSCRIBE, v1::CAPABILITY_AUDIO_CHAT,
              v1::CAPABILITY_TEXT_CHAT};
    case config::v1::PROTOCOL_OPENAI_CHAT:
      return {v1::CAPABILITY_TEXT_CHAT};
    case config::v1::PROTOCOL_EMBEDDED:
      return {v1::CAPABILITY_TRANSCRIBE, v1::CAPABILITY_WORD_TIMESTAMPS,
              v1::CAPABILITY_SEGMENT_TIMESTAMPS};
    default:
      return {};
  }
}

const char* ProtocolName(config::v1::Protocol protocol) {
  switch (protocol) {
    case config::v1::PROTOCOL_OPENAI_TRANSCRIPTIONS:
      return "openai_transcriptions";
    case config::v1::PROTOCOL_OPENAI_CHAT_AUDIO:
      return "openai_chat_audio";
    case config::v1::PROTOCOL_OPENAI_CHAT:
      return "openai_chat";
    case config::v1::PROTOCOL_EMBEDDED:
      return "embedded";
    default:
      return "unspecified";
  }
}

void FillModel(const Config& config, const PoolConfig& pool,
               const std::string& id, v1::ModelInfo& model) {
  model.set_id(id);
  model.set_pool(pool.name());
  model.set_protocol(ProtocolName(pool.protocol()));
  for (v1::Capability capability : CapabilitiesOf(pool.protocol())) {
    model.add_capabilities(capability);
  }
  if (pool.protocol() == config::v1::PROTOCOL_EMBEDDED)
    model.add_languages("en-US");
  if (pool.protocol() != config::v1::PROTOCOL_OPENAI_CHAT) {
    model.set_max_audio_bytes(config.audio().max_audio_bytes());
    *model.mutable_max_audio_duration() = config.audio().max_audio_duration();
    for (int encoding = v1::AUDIO_ENCODING_AUTO;
         encoding <= v1::AudioEncoding_MAX; ++encoding) {
      model.add_accepted_encodings(static_cast<v1::AudioEncoding>(encoding));
    }
  }
  // Health checking marks endpoints down; until a check fails a pool counts as
  // up.
  model.set_available(true);
}

}  // namespace

v1::ListModelsResponse BuildModelCatalog(const Config& config) {
  v1::ListModelsResponse response;
  for (const PoolConfig& pool : config.pools()) {
    if (pool.models().empty()) {
      FillModel(config, pool, pool.name(), *response.add_models());
    }
    for (const std::string& id : pool.models()) {
      FillModel(config, pool, id, *response.add_models());
    }
  }
  return response;
}

}  // namespace voxgate::server
