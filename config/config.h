#ifndef VOXGATE_CONFIG_CONFIG_H_
#define VOXGATE_CONFIG_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "voxgate/config/v1/config.pb.h"

namespace voxgate {

using Config = ::voxgate::config::v1::Config;

// A command-line flag that overrides part of the configuration. Each is also
// read from the environment as VOXGATE_<NAME> (upper case) when absent from the
// command line.
struct OverrideFlag {
  const char* name;
  const char* help;
};

// The override flags, in the order --help lists them.
const std::vector<OverrideFlag>& OverrideFlags();

// Where the configuration comes from. Precedence: built-in defaults < the YAML
// file < overrides (flags, then VOXGATE_* environment variables for flags not
// given).
struct ConfigSources {
  // YAML file; empty for none.
  std::string config_path;
  // Flag name (see OverrideFlags) and its text value.
  std::vector<std::pair<std::string, std::string>> overrides;
};

// Loads, completes with defaults and validates the configuration. Returns
// INVALID_ARGUMENT naming the key (`pools[0].endpoints[0].url: ...`) or the
// flag
// (`--routing_mode: ...`) and what is wrong; NOT_FOUND when the file is
// missing.
absl::StatusOr<Config> LoadConfig(const ConfigSources& sources);

// As LoadConfig, from YAML text instead of a file.
absl::StatusOr<Config> LoadConfigFromYaml(
    absl::string_view yaml,
    const std::vector<std::pair<std::string, std::string>>& overrides = {});

}  // namespace voxgate

#endif  // VOXGATE_CONFIG_CONFIG_H_
