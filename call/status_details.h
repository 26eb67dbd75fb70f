#ifndef VOXGATE_CALL_STATUS_DETAILS_H_
#define VOXGATE_CALL_STATUS_DETAILS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/rpc/status.pb.h"

namespace voxgate::call {

// Removes credentials from text that may quote URLs or HTTP headers: URL
// user info, bearer tokens, api keys.
std::string ScrubSecrets(absl::string_view text);

// The status as every door shows it (google.rpc.Status): the code, the
// message scrubbed of credentials, and RetryInfo in the details when the
// status carries one. Codes map one to one (both follow google.rpc.Code).
google::rpc::Status StatusToProto(const absl::Status& status);

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_STATUS_DETAILS_H_
