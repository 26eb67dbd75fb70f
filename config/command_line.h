#ifndef VOXGATE_CONFIG_COMMAND_LINE_H_
#define VOXGATE_CONFIG_COMMAND_LINE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"

namespace voxgate {

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
std::optional<std::string> ProcessEnv(const std::string& name);

struct CommandLine {
  ConfigSources sources;
  bool help = false;
};

// Parses `--name=value` and `--name value` for --config and the override flags;
// each flag absent from `args` is taken from VOXGATE_<NAME> when set. Other
// VOXGATE_* variables are ignored (Kubernetes defines VOXGATE_SERVICE_HOST and
// the like for a Service named voxgate). Returns INVALID_ARGUMENT naming an
// unknown flag, a missing value or a stray argument.
absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args, const EnvLookup& env);

// The --help text.
std::string Usage();

}  // namespace voxgate

#endif  // VOXGATE_CONFIG_COMMAND_LINE_H_
