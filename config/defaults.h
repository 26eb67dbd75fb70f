#ifndef VOXGATE_CONFIG_DEFAULTS_H_
#define VOXGATE_CONFIG_DEFAULTS_H_

#include "config/config.h"

namespace voxgate {

// Fills what the configuration leaves unset with the documented defaults: the
// embedded pool when no pool takes audio, each pool's protocol defaults
// (upstream/protocols.h), routing, limits, timeouts.
void ApplyDefaults(Config& config);

// Whether pools of `protocol` transcribe (an audio pool), or chat.
bool IsAudioProtocol(config::v1::Protocol protocol);
bool IsChatProtocol(config::v1::Protocol protocol);

}  // namespace voxgate

#endif  // VOXGATE_CONFIG_DEFAULTS_H_
