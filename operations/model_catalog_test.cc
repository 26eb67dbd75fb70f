#include "operations/model_catalog.h"

#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::operations {
namespace {

using ::testing::ElementsAre;

v1::ModelInfo Model(const std::string& id, const std::string& pool) {
  v1::ModelInfo model;
  model.set_id(id);
  model.set_pool(pool);
  model.set_protocol("openai_chat");
  model.add_capabilities(v1::CAPABILITY_TEXT_CHAT);
  return model;
}

std::vector<std::string> Describe(const v1::ListModelsResponse& response) {
  std::vector<std::string> lines;
  for (const v1::ModelInfo& model : response.models()) {
    lines.push_back(model.id() + "@" + model.pool() +
                    (model.configured() ? " configured " : " reported ") +
                    v1::ModelListing_Name(model.listing()));
  }
  return lines;
}

TEST(ModelCatalogTest, ReportedModelsAreMarkedAndAddedPerPool) {
  v1::ListModelsResponse catalog;
  *catalog.add_models() = Model("llama3", "text");
  *catalog.add_models() = Model("gone", "text");
  *catalog.add_models() = Model("audio", "audio");  // a pool without models
  *catalog.add_models() = Model("silent", "other");
  const v1::ListModelsResponse merged = MergeReportedModels(
      catalog,
      {{"text", {"llama3", "smollm2.gguf"}}, {"audio", {"whisper-1"}}});
  EXPECT_THAT(Describe(merged),
              ElementsAre("llama3@text configured MODEL_LISTING_REPORTED",
                          "gone@text configured MODEL_LISTING_NOT_REPORTED",
                          "smollm2.gguf@text reported MODEL_LISTING_REPORTED",
                          "audio@audio configured MODEL_LISTING_UNSPECIFIED",
                          "whisper-1@audio reported MODEL_LISTING_REPORTED",
                          "silent@other configured MODEL_LISTING_UNSPECIFIED"));
  // An added model carries its pool's capabilities.
  EXPECT_THAT(merged.models(2).capabilities(),
              ElementsAre(v1::CAPABILITY_TEXT_CHAT));
}

// Capabilities come from the protocol registry: the embedded engine times
// words, and has no segments of its own to time.
TEST(ModelCatalogTest, CapabilitiesAreThoseTheProtocolsAnswersCarry) {
  absl::StatusOr<Config> config = LoadConfigFromYaml(R"(
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "http://127.0.0.1:9/v1"}]
    models: [whisper-1]
  - name: embedded
    protocol: embedded
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::ListModelsResponse catalog = BuildModelCatalog(*config);
  ASSERT_EQ(catalog.models_size(), 2);
  EXPECT_THAT(catalog.models(0).capabilities(),
              ElementsAre(v1::CAPABILITY_TRANSCRIBE, v1::CAPABILITY_TRANSLATE,
                          v1::CAPABILITY_SEGMENT_TIMESTAMPS,
                          v1::CAPABILITY_LANGUAGE_DETECTION));
  EXPECT_EQ(catalog.models(1).id(), "pocketsphinx-en-us");
  EXPECT_THAT(
      catalog.models(1).capabilities(),
      ElementsAre(v1::CAPABILITY_TRANSCRIBE, v1::CAPABILITY_WORD_TIMESTAMPS));
  EXPECT_THAT(catalog.models(1).languages(), ElementsAre("en-US"));
}

}  // namespace
}  // namespace voxgate::operations
