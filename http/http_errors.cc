#include "http/http_errors.h"

#include "absl/strings/ascii.h"
#include "common/json_limits.h"
#include "common/retry_info.h"
#include "nlohmann/json.hpp"

namespace voxgate::http {
namespace {

const char* ErrorType(int http_status) {
  switch (http_status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    default:
      return http_status < 500 ? "invalid_request_error" : "server_error";
  }
}

HttpResponse ErrorBody(int http_status, const std::string& message,
                       const std::string& code) {
  HttpResponse response;
  response.status = http_status;
  // The message may echo caller bytes (a form field, a model name).
  response.body = DumpJson({{"error",
                             {{"message", message},
                              {"type", ErrorType(http_status)},
                              {"param", nullptr},
                              {"code", code}}}});
  return response;
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

HttpResponse ErrorResponse(const absl::Status& status) {
  const int http_status = HttpStatusFor(status.code());
  HttpResponse response =
      ErrorBody(http_status, std::string(status.message()),
                absl::AsciiStrToLower(absl::StatusCodeToString(status.code())));
  // Rate limits and quotas know when to come back; slots do not, and a
  // second is the usual client back-off step.
  if (http_status == 429 || http_status == 503) {
    const std::optional<absl::Duration> delay = RetryDelay(status);
    response.headers.emplace_back(
        "retry-after",
        std::to_string(delay.has_value() ? RetryAfterSeconds(*delay) : 1));
  }
  return response;
}

HttpResponse ErrorResponse(int http_status, const std::string& message) {
  return ErrorBody(http_status, message, std::to_string(http_status));
}

int WebSocketCloseCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 1000;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return 1008;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return 1011;
    default:
      return 4000 + static_cast<int>(code);
  }
}

}  // namespace voxgate::http
