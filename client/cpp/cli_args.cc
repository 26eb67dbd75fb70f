#include "client/cpp/cli_args.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace voxgate::cli {

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::set<std::string>& known,
                               const std::set<std::string>& booleans) {
  Args args;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "-" || !absl::StartsWith(arg, "--")) {
      args.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {  // the rest are positional, even "--text"
      args.positional.insert(args.positional.end(), argv.begin() + i + 1,
                             argv.end());
      break;
    }
    std::string name = arg.substr(2);
    std::string value;
    const std::size_t equals = name.find('=');
    const bool has_value = equals != std::string::npos;
    if (has_value) {
      value = name.substr(equals + 1);
      name.resize(equals);
    }
    if (booleans.count(name)) {
      if (has_value && value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value (or true/false)"));
      }
      args.flags[name] = has_value ? value : "true";
      continue;
    }
    if (!known.count(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": unknown flag (see --help)"));
    }
    if (!has_value) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    args.flags[name] = value;
  }
  return args;
}

}  // namespace voxgate::cli
