#ifndef VOXGATE_CLIENT_CPP_CLI_ARGS_H_
#define VOXGATE_CLIENT_CPP_CLI_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace voxgate::cli {

// A command line split into positionals and --flags. Flags take
// "--name=value" or "--name value"; the names in `booleans` take no value.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  std::string Get(const std::string& name,
                  const std::string& fallback = "") const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  }
};

// INVALID_ARGUMENT naming the flag when a value is missing or a flag is not in
// `known` (plus `booleans`).
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::set<std::string>& known,
                               const std::set<std::string>& booleans);

}  // namespace voxgate::cli

#endif  // VOXGATE_CLIENT_CPP_CLI_ARGS_H_
