#ifndef VOXGATE_TESTS_HTTP_GET_H_
#define VOXGATE_TESTS_HTTP_GET_H_

#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "upstream/http_client.h"

namespace voxgate::testing {

// GET `url` through `http`, waiting for the answer (10 s at most): for tests
// that read /metrics, /healthz or a Prometheus API.
inline absl::StatusOr<upstream::HttpResponse> HttpGet(
    upstream::HttpClient& http, const std::string& url) {
  absl::StatusOr<upstream::HttpResponse> result =
      absl::UnknownError("no answer");
  absl::Notification done;
  upstream::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.deadline = absl::Now() + absl::Seconds(10);
  http.Fetch(request, [&](absl::StatusOr<upstream::HttpResponse> response) {
    result = std::move(response);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_HTTP_GET_H_
