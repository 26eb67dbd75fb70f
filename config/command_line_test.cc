#include "config/command_line.h"

#include <map>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CommandLineTest, AcceptsBothFlagForms) {
  auto parsed = ParseCommandLine({"--listen=127.0.0.1:1", "--config",
                                  "/etc/voxgate.yaml", "--log_level", "debug"},
                                 FakeEnv({}));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->sources.config_path, "/etc/voxgate.yaml");
  EXPECT_THAT(
      parsed->sources.overrides,
      ElementsAre(Pair("listen", "127.0.0.1:1"), Pair("log_level", "debug")));
}

TEST(CommandLineTest, EnvironmentFillsFlagsNotGiven) {
  auto parsed = ParseCommandLine(
      {"--listen=127.0.0.1:1"},
      FakeEnv({{"VOXGATE_LISTEN", "0.0.0.0:9"},
               {"VOXGATE_TEXT_BASE_URL", "http://ollama/v1"},
               {"VOXGATE_CONFIG", "/c.yaml"},
               // Kubernetes service links must not break start-up.
               {"VOXGATE_SERVICE_HOST", "10.0.0.1"}}));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->sources.config_path, "/c.yaml");
  EXPECT_THAT(parsed->sources.overrides,
              ElementsAre(Pair("listen", "127.0.0.1:1"),
                          Pair("text_base_url", "http://ollama/v1")));
}

TEST(CommandLineTest, UnknownFlagIsNamed) {
  EXPECT_THAT(ParseCommandLine({"--lisen=1"}, FakeEnv({})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--lisen: unknown flag")));
}

TEST(CommandLineTest, MissingValueIsNamed) {
  EXPECT_THAT(ParseCommandLine({"--listen"}, FakeEnv({})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--listen: needs a value")));
}

TEST(CommandLineTest, StrayArgumentIsRejected) {
  EXPECT_THAT(ParseCommandLine({"serve"}, FakeEnv({})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unexpected argument \"serve\"")));
}

TEST(CommandLineTest, HelpListsEveryFlag) {
  auto parsed = ParseCommandLine({"--help"}, FakeEnv({}));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(parsed->help);
  for (const OverrideFlag& flag : OverrideFlags()) {
    EXPECT_THAT(Usage(), HasSubstr(std::string("--") + flag.name));
  }
}

}  // namespace
}  // namespace voxgate
