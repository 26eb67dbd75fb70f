#include "config/yaml_proto.h"

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "voxgate/config/v1/config.pb.h"

namespace voxgate {
namespace {

using ::testing::HasSubstr;
using ::voxgate::config::v1::Config;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

absl::Status Parse(absl::string_view yaml, Config& config) {
  return ParseYamlIntoMessage(yaml, config);
}

TEST(YamlProtoTest, FillsNestedMessagesListsMapsEnumsAndDurations) {
  Config config;
  ASSERT_THAT(Parse(R"(
server:
  listen: "127.0.0.1:6000"
  max_receive_message_bytes: 1048576
  drain_timeout: 1.5s
  permit_keepalive_without_calls: false
pools:
  - name: llama
    protocol: openai_chat_audio
    endpoints:
      - url: http://a:8080/v1
        weight: 3
      - url: http://b:8080/v1
    headers:
      X-Tenant: blue
logging:
  level: LOG_LEVEL_DEBUG
)",
                    config),
              IsOk());
  EXPECT_EQ(config.server().listen(), "127.0.0.1:6000");
  EXPECT_EQ(config.server().max_receive_message_bytes(), 1048576);
  EXPECT_EQ(config.server().drain_timeout().seconds(), 1);
  EXPECT_EQ(config.server().drain_timeout().nanos(), 500000000);
  EXPECT_TRUE(config.server().has_permit_keepalive_without_calls());
  EXPECT_FALSE(config.server().permit_keepalive_without_calls());
  ASSERT_EQ(config.pools_size(), 1);
  EXPECT_EQ(config.pools(0).protocol(), config::v1::PROTOCOL_OPENAI_CHAT_AUDIO);
  ASSERT_EQ(config.pools(0).endpoints_size(), 2);
  EXPECT_EQ(config.pools(0).endpoints(0).weight(), 3u);
  EXPECT_EQ(config.pools(0).endpoints(1).url(), "http://b:8080/v1");
  EXPECT_EQ(config.pools(0).headers().at("X-Tenant"), "blue");
  EXPECT_EQ(config.logging().level(), config::v1::LOG_LEVEL_DEBUG);
}

TEST(YamlProtoTest, UnknownKeyNamesItsPath) {
  Config config;
  absl::Status status = Parse(
      "pools:\n  - name: a\n    endpoints:\n      - url: http://x\n        "
      "wieght: 2\n",
      config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("pools[0].endpoints[0].wieght: unknown key")));
}

TEST(YamlProtoTest, WrongTypeNamesPathExpectationAndValue) {
  Config config;
  absl::Status status =
      Parse("pools:\n  - endpoints:\n    - weight: heavy\n", config);
  EXPECT_THAT(
      status,
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr(
              "pools[0].endpoints[0].weight: expected an unsigned integer, "
              "got \"heavy\"")));
}

TEST(YamlProtoTest, NegativeForUnsignedIsRejected) {
  Config config;
  absl::Status status = Parse("limits:\n  max_streams: -1\n", config);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("limits.max_streams: expected an unsigned")));
}

TEST(YamlProtoTest, BadEnumListsTheChoices) {
  Config config;
  absl::Status status = Parse("pools:\n  - protocol: grpc\n", config);
  EXPECT_THAT(
      status,
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("pools[0].protocol: expected one of openai_transcriptions, "
                    "openai_chat_audio, openai_chat, embedded, got \"grpc\"")));
}

TEST(YamlProtoTest, BadDurationSaysWhatADurationLooksLike) {
  Config config;
  absl::Status status = Parse("server:\n  drain_timeout: soon\n", config);
  EXPECT_THAT(
      status,
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr(
              "server.drain_timeout: expected a duration such as \"30s\"")));
}

TEST(YamlProtoTest, ListWhereMappingExpected) {
  Config config;
  absl::Status status = Parse("server:\n  - listen\n", config);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("server: expected a mapping, got a list")));
}

TEST(YamlProtoTest, SyntaxErrorGivesLine) {
  Config config;
  absl::Status status = Parse("server:\n  listen: [\n", config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line ")));
}

}  // namespace
}  // namespace voxgate
