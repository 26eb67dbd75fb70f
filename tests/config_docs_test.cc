// The configuration the manual (docs/) documents and the Kubernetes manifests
// ship must load.

#include <fstream>
#include <sstream>

#include "common/status_matchers.h"
#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tenancy/keyring.h"
#include "yaml-cpp/yaml.h"

namespace voxgate::server {
namespace {

using ::voxgate::testing::IsOk;

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(ConfigDocsTest, ReadmeExampleLoadsAndSetsEveryTopLevelSection) {
  const std::string readme = ReadFile("docs/configuration.md");
  // The first YAML block that is a configuration (the keys file's has its own
  // test below).
  std::size_t start = readme.find("```yaml\n");
  while (start != std::string::npos &&
         readme.compare(start + 8, 8, "tenants:") == 0) {
    start = readme.find("```yaml\n", start + 8);
  }
  ASSERT_NE(start, std::string::npos);
  const std::size_t end = readme.find("```", start + 8);
  const std::string yaml = readme.substr(start + 8, end - start - 8);
  auto config = LoadConfigFromYaml(yaml);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->pools_size(), 3);
  EXPECT_EQ(config->routing().text_pool(), "ollama");
  EXPECT_EQ(config->server().max_connection_age().seconds(), 300);
  EXPECT_EQ(config->pools(0).endpoints_size(), 2);
}

TEST(ConfigDocsTest, KubernetesConfigMapLoads) {
  YAML::Node map = YAML::LoadFile("k8s/base/configmap.yaml");
  auto config =
      LoadConfigFromYaml(map["data"]["voxgate.yaml"].as<std::string>());
  ASSERT_THAT(config, IsOk());
}

// The keys-file example docs/tenancy.md shows and the one the tenants component
// ships load (its hashes are placeholders, but well formed).
TEST(ConfigDocsTest, KeysFileExamplesLoad) {
  const std::string readme = ReadFile("docs/tenancy.md");
  const std::size_t tenants = readme.find("```yaml\ntenants:");
  ASSERT_NE(tenants, std::string::npos);
  const std::size_t end = readme.find("```", tenants + 8);
  EXPECT_THAT(
      tenancy::KeyRing::Parse(readme.substr(tenants + 8, end - tenants - 8)),
      IsOk());
  YAML::Node secret = YAML::LoadFile("k8s/components/tenants/keys-secret.yaml");
  auto shipped = tenancy::KeyRing::Parse(
      secret["stringData"]["keys.yaml"].as<std::string>());
  ASSERT_THAT(shipped, IsOk());
  EXPECT_EQ((*shipped)->tenants().size(), 2u);
}

}  // namespace
}  // namespace voxgate::server
