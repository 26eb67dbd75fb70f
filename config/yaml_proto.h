#ifndef VOXGATE_CONFIG_YAML_PROTO_H_
#define VOXGATE_CONFIG_YAML_PROTO_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace voxgate {

// Fills `message` from a YAML document, following the message's descriptor:
// keys are field names, sequences fill repeated fields, mappings fill map
// fields and nested messages, enums take their value name with or without the
// enum's prefix in any case, and google.protobuf.Duration takes strings like
// "30s" or "250ms".
//
// Returns INVALID_ARGUMENT naming the path of the offending key, e.g.
// `pools[0].endpoints[1].weight: expected an unsigned integer, got "heavy"`,
// for unknown keys, wrong types and out-of-range numbers. Thread-compatible.
absl::Status ParseYamlIntoMessage(absl::string_view yaml,
                                  google::protobuf::Message& message);

}  // namespace voxgate

#endif  // VOXGATE_CONFIG_YAML_PROTO_H_
