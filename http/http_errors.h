#ifndef VOXGATE_HTTP_HTTP_ERRORS_H_
#define VOXGATE_HTTP_HTTP_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "http/http_types.h"

namespace voxgate::http {

// The HTTP status for a gateway status code: 400 invalid argument, failed
// precondition and out of range; 401; 403; 404; 409; 429 resource exhausted;
// 499 cancelled; 501; 503 unavailable; 504 deadline exceeded; 500 otherwise.
int HttpStatusFor(absl::StatusCode code);

// An error in OpenAI's shape, {"error": {"message", "type", "code"}}, with the
// status for `status` (429 carries Retry-After). The message must already be
// scrubbed (RecordCallEnd's result).
HttpResponse ErrorResponse(const absl::Status& status);
// The same shape for errors of the HTTP layer itself (413, 431, 404...).
HttpResponse ErrorResponse(int http_status, const std::string& message);

// The WebSocket close code for how a stream ended: 1000 OK, 1008
// unauthenticated or permission denied, 1011 internal, unknown and data
// loss, otherwise 4000 + the gRPC code (4003 invalid argument, 4008
// resource exhausted, 4014 unavailable...).
int WebSocketCloseCodeFor(absl::StatusCode code);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_HTTP_ERRORS_H_
