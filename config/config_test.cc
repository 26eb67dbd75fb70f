#include "config/config.h"

#include <cstdio>
#include <fstream>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

absl::Status LoadError(
    absl::string_view yaml,
    std::vector<std::pair<std::string, std::string>> flags = {}) {
  auto config = LoadConfigFromYaml(yaml, flags);
  return config.ok() ? absl::OkStatus() : config.status();
}

TEST(ConfigTest, EmptyConfigServesWithTheEmbeddedEngine) {
  auto config = LoadConfigFromYaml("");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->server().listen(), "0.0.0.0:50051");
  EXPECT_EQ(config->server().admin_listen(), "0.0.0.0:9464");
  EXPECT_EQ(config->server().max_receive_message_bytes(), 32 * 1024 * 1024);
  EXPECT_EQ(config->server().drain_timeout().seconds(), 30);
  ASSERT_EQ(config->pools_size(), 1);
  EXPECT_EQ(config->pools(0).protocol(), config::v1::PROTOCOL_EMBEDDED);
  EXPECT_EQ(config->routing().audio_pool(), "embedded");
  EXPECT_EQ(config->routing().text_pool(), "");
  EXPECT_EQ(config->audio().target_sample_rate_hertz(), 16000);
}

TEST(ConfigTest, SingleBaseUrlMakesAudioAndTextPoolsOnIt) {
  auto config = LoadConfigFromYaml(
      "", {{"audio_base_url", "http://llama:8080/v1"}, {"api_key_env", "KEY"}});
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->pools_size(), 2);
  EXPECT_EQ(config->routing().mode(), config::v1::ROUTING_MODE_SINGLE);
  EXPECT_EQ(config->pools(0).protocol(),
            config::v1::PROTOCOL_OPENAI_CHAT_AUDIO);
  EXPECT_EQ(config->pools(0).endpoints(0).url(), "http://llama:8080/v1");
  EXPECT_EQ(config->pools(0).system_prompt(),
            "You are a helpful assistant that transcribes audio.");
  EXPECT_EQ(config->pools(1).protocol(), config::v1::PROTOCOL_OPENAI_CHAT);
  EXPECT_EQ(config->pools(1).api_key_env(), "KEY");
}

TEST(ConfigTest, TextBaseUrlAloneLeavesAudioToTheEmbeddedEngine) {
  // A text URL is most often a text-only server (llama-server, Ollama).
  auto config =
      LoadConfigFromYaml("", {{"text_base_url", "http://llama:8080/v1"}});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->routing().mode(), config::v1::ROUTING_MODE_AUDIO_TEXT);
  EXPECT_EQ(config->pools(0).protocol(), config::v1::PROTOCOL_EMBEDDED);
  EXPECT_EQ(config->routing().audio_pool(), "audio");
  EXPECT_EQ(config->routing().text_pool(), "text");
  // Asking for one server for both still works.
  auto single = LoadConfigFromYaml(
      "", {{"text_base_url", "http://vllm/v1"}, {"routing_mode", "single"}});
  ASSERT_THAT(single, IsOk());
  EXPECT_EQ(single->pools(0).protocol(),
            config::v1::PROTOCOL_OPENAI_CHAT_AUDIO);
  EXPECT_EQ(single->pools(0).endpoints(0).url(), "http://vllm/v1");
}

TEST(ConfigTest, PoolsWithoutAudioGetTheEmbeddedEngineForAudio) {
  auto config = LoadConfigFromYaml(
      "pools:\n  - {name: llm, protocol: openai_chat, endpoints: [{url: "
      "\"http://l/v1\"}]}\n",
      {});
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->pools_size(), 2);
  EXPECT_EQ(config->pools(1).protocol(), config::v1::PROTOCOL_EMBEDDED);
  EXPECT_EQ(config->routing().audio_pool(), "embedded");
  EXPECT_EQ(config->routing().text_pool(), "llm");
}

TEST(ConfigTest, AudioTextModeWithTranscriptionsProtocol) {
  auto config =
      LoadConfigFromYaml("", {{"routing_mode", "audio_text"},
                              {"audio_base_url", "http://vllm:8000/v1"},
                              {"audio_protocol", "transcriptions"},
                              {"text_base_url", "http://ollama:11434/v1"}});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->routing().mode(), config::v1::ROUTING_MODE_AUDIO_TEXT);
  EXPECT_EQ(config->pools(0).protocol(),
            config::v1::PROTOCOL_OPENAI_TRANSCRIPTIONS);
  EXPECT_EQ(config->pools(1).endpoints(0).url(), "http://ollama:11434/v1");
}

TEST(ConfigTest, TextOnlyAudioTextLeavesAudioToTheEmbeddedEngine) {
  auto config = LoadConfigFromYaml("", {{"routing_mode", "audio_text"},
                                        {"text_base_url", "http://ollama/v1"}});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->pools(0).protocol(), config::v1::PROTOCOL_EMBEDDED);
  EXPECT_EQ(config->routing().text_pool(), "text");
}

TEST(ConfigTest, ModelDefaultsAreCheckedNamingTheKey) {
  EXPECT_THAT(
      LoadConfigFromYaml(
          "pools:\n  - {name: llm, protocol: openai_chat, endpoints: "
          "[{url: \"http://l/v1\"}], model_defaults: {llama3: "
          "{temperature: 3}}}\n",
          {}),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("pools[0].model_defaults[\"llama3\"].temperature: must be "
                    "between 0 and 2, got 3")));
  auto config = LoadConfigFromYaml(
      "pools:\n  - {name: llm, protocol: openai_chat, endpoints: "
      "[{url: \"http://l/v1\"}], model_defaults: {\"\": {max_tokens: 256, "
      "system_prompt: Be brief.}}}\n",
      {});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->pools(0).model_defaults().at("").max_tokens(), 256);
}

TEST(ConfigTest, FlagsOverrideTheFile) {
  auto config = LoadConfigFromYaml("server:\n  listen: 127.0.0.1:1\n",
                                   {{"listen", "127.0.0.1:2"}});
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->server().listen(), "127.0.0.1:2");
}

struct InvalidCase {
  std::string name;
  std::string yaml;
  std::vector<std::pair<std::string, std::string>> flags;
  std::string message;
};

class InvalidConfigTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidConfigTest, FailsNamingTheKey) {
  EXPECT_THAT(LoadError(GetParam().yaml, GetParam().flags),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidConfigTest,
    ::testing::Values(
        InvalidCase{"BadListen",
                    "server:\n  listen: nowhere\n",
                    {},
                    "server.listen: expected host:port"},
        InvalidCase{"HugeLease",
                    "redis:\n  address: \"127.0.0.1:6379\"\n"
                    "  lease_size: 5000\n",
                    {},
                    "redis.lease_size: must be between 1 and 1000"},
        InvalidCase{"AdminTlsWithoutCertificate",
                    "",
                    {{"tls_admin", "true"}},
                    "tls.admin: needs tls.cert_file and tls.key_file"},
        InvalidCase{"PortOutOfRange",
                    "",
                    {{"admin_listen", "0.0.0.0:70000"}},
                    "server.admin_listen: expected host:port"},
        InvalidCase{
            "TinyMessageLimit",
            "",
            {{"max_receive_message_bytes", "10"}},
            "server.max_receive_message_bytes: must be between 1048576"},
        InvalidCase{
            "NonNumericFlag",
            "",
            {{"max_receive_message_bytes", "big"}},
            "--max_receive_message_bytes: expected an integer, got \"big\""},
        InvalidCase{"BadDurationFlag",
                    "",
                    {{"drain_timeout", "forever"}},
                    "--drain_timeout: expected a duration"},
        InvalidCase{"BadRoutingMode",
                    "",
                    {{"routing_mode", "random"}},
                    "--routing_mode: expected one of single, audio_text, got "
                    "\"random\""},
        InvalidCase{
            "BadAudioProtocol",
            "",
            {{"audio_base_url", "http://a/v1"}, {"audio_protocol", "grpc"}},
            "--audio_protocol: expected chat_audio or transcriptions"},
        InvalidCase{"ProtocolWithoutUrl",
                    "",
                    {{"audio_protocol", "transcriptions"}},
                    "--audio_protocol: applies only with --text_base_url"},
        InvalidCase{
            "SingleModeWithTwoUrls",
            "",
            {{"routing_mode", "single"},
             {"audio_base_url", "http://a/v1"},
             {"text_base_url", "http://b/v1"}},
            "--audio_base_url: --routing_mode=single uses one base URL"},
        InvalidCase{
            "FlagsAndFilePools",
            "pools:\n  - {name: a, protocol: openai_chat, endpoints: [{url: "
            "http://a}]}\n",
            {{"text_base_url", "http://b/v1"}},
            "--text_base_url: the config file already defines pools"},
        InvalidCase{
            "UnknownFlag", "", {{"colour", "blue"}}, "--colour: unknown flag"},
        InvalidCase{
            "BadUrl",
            "pools:\n  - {name: a, protocol: openai_chat, endpoints: [{url: "
            "ftp://a}]}\n",
            {},
            "pools[0].endpoints[0].url: expected an http:// or https:// URL"},
        InvalidCase{
            "UserinfoInUrl",
            "pools:\n  - {name: a, protocol: openai_chat, endpoints: [{url: "
            "\"http://user:s3cret@a/v1\"}]}\n",
            {},
            "pools[0].endpoints[0].url: a URL with user information"},
        InvalidCase{"NoEndpoints",
                    "pools:\n  - {name: a, protocol: openai_chat}\n",
                    {},
                    "pools[0].endpoints: at least one endpoint is required"},
        InvalidCase{"NoProtocol",
                    "pools:\n  - {name: a, endpoints: [{url: http://a}]}\n",
                    {},
                    "pools[0].protocol: required"},
        InvalidCase{
            "BadPoolName",
            "pools:\n  - {name: My Pool, protocol: embedded}\n",
            {},
            "pools[0].name: expected [a-z0-9_-]{1,63}, got \"My Pool\""},
        InvalidCase{"DuplicatePool",
                    "pools:\n  - {name: a, protocol: embedded}\n  - {name: a, "
                    "protocol: embedded}\n",
                    {},
                    "pools[1].name: duplicate pool name \"a\""},
        InvalidCase{
            "WeightZeroIsDefaultButTooHeavyFails",
            "pools:\n  - {name: a, protocol: openai_chat, endpoints: [{url: "
            "http://a, weight: 5000}]}\n",
            {},
            "pools[0].endpoints[0].weight: must be between 1 and 1000, got "
            "5000"},
        InvalidCase{
            "MissingFallback",
            "pools:\n  - {name: a, protocol: embedded, fallback_pool: b}\n",
            {},
            "pools[0].fallback_pool: no pool named \"b\""},
        InvalidCase{
            "KeyTwice",
            "pools:\n  - {name: a, protocol: openai_chat, api_key_env: K, "
            "api_key_file: /k, endpoints: [{url: http://a}]}\n",
            {},
            "pools[0].api_key_file: set api_key_env or api_key_file, not both"},
        InvalidCase{"TextPoolCannotChat",
                    "pools:\n  - {name: a, protocol: embedded}\nrouting:\n  "
                    "text_pool: a\n",
                    {},
                    "routing.text_pool: pool \"a\" cannot chat"},
        InvalidCase{"UnknownRoute",
                    "routing:\n  model_routes:\n    gpt-4o: nowhere\n",
                    {},
                    "routing.model_routes.gpt-4o: no pool named \"nowhere\""},
        InvalidCase{
            "SampleRate",
            "audio:\n  target_sample_rate_hertz: 100\n",
            {},
            "audio.target_sample_rate_hertz: must be between 8000 and 48000"},
        InvalidCase{"UnknownTopLevelKey",
                    "serverr:\n  listen: a:1\n",
                    {},
                    "serverr: unknown key"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) {
      return info.param.name;
    });

TEST(ConfigTest, MissingFileIsNotFoundAndNamesIt) {
  auto config = LoadConfig({"/nonexistent/voxgate.yaml", {}});
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kNotFound,
                               HasSubstr("/nonexistent/voxgate.yaml")));
}

TEST(ConfigTest, FileErrorsArePrefixedWithTheFileName) {
  const std::string path = ::testing::TempDir() + "/bad.yaml";
  std::ofstream(path) << "server:\n  listen: 5\n";
  auto config = LoadConfig({path, {}});
  EXPECT_THAT(
      config,
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(path + ": server.listen: expected host:port")));
}

}  // namespace
}  // namespace voxgate
