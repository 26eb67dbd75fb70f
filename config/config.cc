#include "config/config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "config/defaults.h"
#include "config/overrides.h"
#include "config/validation.h"
#include "config/yaml_proto.h"

namespace voxgate {

absl::StatusOr<Config> LoadConfigFromYaml(
    absl::string_view yaml,
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  Config config;
  RETURN_IF_ERROR(ParseYamlIntoMessage(yaml, config));
  RETURN_IF_ERROR(ApplyOverrides(overrides, config));
  ApplyDefaults(config);
  RETURN_IF_ERROR(Validate(config));
  return config;
}

absl::StatusOr<Config> LoadConfig(const ConfigSources& sources) {
  std::string yaml;
  if (!sources.config_path.empty()) {
    std::ifstream file(sources.config_path);
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat("--config: cannot read \"", sources.config_path, "\""));
    }
    std::ostringstream text;
    text << file.rdbuf();
    yaml = text.str();
  }
  auto config = LoadConfigFromYaml(yaml, sources.overrides);
  if (!config.ok() && !sources.config_path.empty() &&
      !absl::StartsWith(config.status().message(), "--")) {
    return absl::Status(
        config.status().code(),
        absl::StrCat(sources.config_path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace voxgate