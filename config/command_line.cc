#include "config/command_line.h"

#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace voxgate {
namespace {

constexpr char kConfigFlag[] = "config";

bool IsKnownFlag(const std::string& name) {
  if (name == kConfigFlag) return true;
  for (const OverrideFlag& flag : OverrideFlags()) {
    if (name == flag.name) return true;
  }
  return false;
}

std::string EnvName(const std::string& flag) {
  return absl::StrCat("VOXGATE_", absl::AsciiStrToUpper(flag));
}

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

absl::StatusOr<CommandLine> ParseCommandLine(
    const std::vector<std::string>& args, const EnvLookup& env) {
  CommandLine result;
  std::set<std::string> given;
  auto take = [&](const std::string& name, const std::string& value) {
    given.insert(name);
    if (name == kConfigFlag) {
      result.sources.config_path = value;
    } else {
      result.sources.overrides.emplace_back(name, value);
    }
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "--helpfull") {
      result.help = true;
      return result;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument \"", arg, "\"; flags look like --name=value"));
    }
    const std::size_t equals = arg.find('=');
    const std::string name = arg.substr(
        2, equals == std::string::npos ? std::string::npos : equals - 2);
    if (!IsKnownFlag(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": unknown flag (see --help)"));
    }
    if (equals != std::string::npos) {
      take(name, arg.substr(equals + 1));
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      take(name, args[++i]);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": needs a value"));
    }
  }

  // The environment fills what the command line left open.
  std::vector<std::string> names = {kConfigFlag};
  for (const OverrideFlag& flag : OverrideFlags()) names.push_back(flag.name);
  for (const std::string& name : names) {
    if (given.count(name)) continue;
    if (std::optional<std::string> value = env(EnvName(name)))
      take(name, *value);
  }
  return result;
}

std::string Usage() {
  std::string text =
      "Usage: voxgate [--flag=value ...]\n"
      "       voxgate probe [URL]   exit 0 when URL (default "
      "http://127.0.0.1:9464/readyz) answers 200\n\n"
      "Voxgate: a gRPC gateway for speech and language models.\n"
      "Every flag can also be set as VOXGATE_<FLAG> in the environment; the "
      "command\n"
      "line wins. Flags override the config file.\n\n"
      "  --config  YAML configuration file (see README, \"Configuration\").\n";
  for (const OverrideFlag& flag : OverrideFlags()) {
    absl::StrAppend(&text, "  --", flag.name, "  ", flag.help, "\n");
  }
  return text;
}

}  // namespace voxgate
