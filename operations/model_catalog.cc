#include "operations/model_catalog.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "upstream/protocols.h"

namespace voxgate::operations {
namespace {

using ::voxgate::config::v1::PoolConfig;

// What the protocol's answers carry, from the protocol registry.
std::vector<v1::Capability> CapabilitiesOf(const upstream::ProtocolInfo& info) {
  std::vector<v1::Capability> capabilities;
  const std::pair<bool, v1::Capability> facts[] = {
      {info.transcribes, v1::CAPABILITY_TRANSCRIBE},
      {info.translates, v1::CAPABILITY_TRANSLATE},
      {info.audio_chat, v1::CAPABILITY_AUDIO_CHAT},
      {info.text_chat, v1::CAPABILITY_TEXT_CHAT},
      {info.word_timestamps, v1::CAPABILITY_WORD_TIMESTAMPS},
      {info.segment_timestamps, v1::CAPABILITY_SEGMENT_TIMESTAMPS},
      {info.language_detection, v1::CAPABILITY_LANGUAGE_DETECTION}};
  for (const auto& [has, capability] : facts) {
    if (has) capabilities.push_back(capability);
  }
  return capabilities;
}

void FillModel(const Config& config, const PoolConfig& pool,
               const std::string& id, v1::ModelInfo& model) {
  model.set_id(id);
  model.set_pool(pool.name());
  const upstream::ProtocolInfo* protocol =
      upstream::FindProtocol(pool.protocol());
  if (protocol == nullptr) return;  // validation refused it already
  model.set_protocol(protocol->name);
  for (v1::Capability capability : CapabilitiesOf(*protocol)) {
    model.add_capabilities(capability);
  }
  for (const char* language : protocol->languages) {
    model.add_languages(language);
  }
  if (protocol->transcribes || protocol->audio_chat) {
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

v1::ListModelsResponse MergeReportedModels(
    const v1::ListModelsResponse& catalog,
    const std::map<std::string, std::vector<std::string>>& reported) {
  v1::ListModelsResponse merged;
  for (int i = 0; i < catalog.models_size(); ++i) {
    const v1::ModelInfo& model = catalog.models(i);
    v1::ModelInfo& out = *merged.add_models();
    out = model;
    out.set_configured(true);
    auto listed = reported.find(model.pool());
    if (listed != reported.end() && model.id() != model.pool()) {
      const bool found = std::find(listed->second.begin(), listed->second.end(),
                                   model.id()) != listed->second.end();
      out.set_listing(found ? v1::MODEL_LISTING_REPORTED
                            : v1::MODEL_LISTING_NOT_REPORTED);
    }
    // After a pool's last configured entry: what its server adds.
    const bool pool_ends = i + 1 == catalog.models_size() ||
                           catalog.models(i + 1).pool() != model.pool();
    if (!pool_ends || listed == reported.end()) continue;
    for (const std::string& id : listed->second) {
      const bool configured =
          std::any_of(catalog.models().begin(), catalog.models().end(),
                      [&](const v1::ModelInfo& known) {
                        return known.pool() == model.pool() && known.id() == id;
                      });
      if (configured) continue;
      v1::ModelInfo& extra = *merged.add_models();
      extra = model;  // the pool's capabilities and limits
      extra.set_id(id);
      extra.set_configured(false);
      extra.set_listing(v1::MODEL_LISTING_REPORTED);
    }
  }
  return merged;
}

v1::ListModelsResponse CurrentModels(const v1::ListModelsResponse& catalog,
                                     const upstream::Routing& routing) {
  v1::ListModelsResponse models =
      MergeReportedModels(catalog, routing.ReportedModels());
  const std::map<std::string, bool> available = routing.PoolAvailability();
  for (v1::ModelInfo& model : *models.mutable_models()) {
    auto it = available.find(model.pool());
    model.set_available(it == available.end() || it->second);
  }
  return models;
}

}  // namespace voxgate::operations
