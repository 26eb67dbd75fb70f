#ifndef VOXGATE_CONFIG_VALIDATION_H_
#define VOXGATE_CONFIG_VALIDATION_H_

#include "absl/status/status.h"
#include "config/config.h"

namespace voxgate {

// Checks a configuration with its defaults applied: INVALID_ARGUMENT naming
// the first key at fault (its path, "pools[1].endpoints[0].url") and what it
// should be.
absl::Status Validate(const Config& config);

}  // namespace voxgate

#endif  // VOXGATE_CONFIG_VALIDATION_H_
