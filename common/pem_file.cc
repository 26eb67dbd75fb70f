#include "common/pem_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace voxgate {

absl::StatusOr<std::string> ReadPemFile(const std::string& key,
                                        const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  if (file) text << file.rdbuf();
  if (!file || !absl::StrContains(text.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": cannot read a PEM file at ", path));
  }
  return text.str();
}

}  // namespace voxgate
