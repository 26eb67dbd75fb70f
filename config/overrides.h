#ifndef VOXGATE_CONFIG_OVERRIDES_H_
#define VOXGATE_CONFIG_OVERRIDES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "config/config.h"

namespace voxgate {

// Applies command-line overrides (flag name, text value) to `config`, before
// defaults are filled in. The quick-setup flags (--text_base_url,
// --audio_base_url,
// --routing_mode, --audio_protocol, --api_key_env, --text_model, --audio_model)
// build the pools the way OpenAI-compatible gateways configure them. Returns
// INVALID_ARGUMENT naming the flag.
absl::Status ApplyOverrides(
    const std::vector<std::pair<std::string, std::string>>& overrides,
    Config& config);

}  // namespace voxgate

#endif  // VOXGATE_CONFIG_OVERRIDES_H_
