#ifndef VOXGATE_COMMON_PEM_FILE_H_
#define VOXGATE_COMMON_PEM_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace voxgate {

// A PEM file's contents, or INVALID_ARGUMENT naming the config `key` and the
// path (never the contents: it may be a private key).
absl::StatusOr<std::string> ReadPemFile(const std::string& key,
                                        const std::string& path);

}  // namespace voxgate

#endif  // VOXGATE_COMMON_PEM_FILE_H_
