#ifndef VOXGATE_UPSTREAM_HTTP_CLIENT_H_
#define VOXGATE_UPSTREAM_HTTP_CLIENT_H_

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "upstream/transfer.h"

namespace voxgate::upstream {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One part of a multipart/form-data body.
struct FormField {
  std::string name;
  std::string value;
  // Set for file parts.
  std::string filename;
  std::string content_type;
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  HttpHeaders headers;
  // Sent as is (with its Content-Type header) unless `form` is non-empty.
  std::string body;
  // A multipart/form-data body; curl writes the boundary and Content-Type.
  std::vector<FormField> form;
  // The whole attempt, from queueing to the last byte.
  absl::Time deadline = absl::InfiniteFuture();
  absl::Duration connect_timeout = absl::Seconds(2);
  // Fails the transfer (UNAVAILABLE, "no response byte") when the status line
  // has not begun to arrive this long after the transfer started. For a
  // non-streaming answer that is the whole generation. Zero: off.
  absl::Duration first_byte_timeout = absl::ZeroDuration();
  // Fails the transfer (UNAVAILABLE, "stalled") when, after the first byte, no
  // byte arrives for this long while it is not paused (a paused transfer waits
  // on our reader, not on the server). Zero: off. Both are checked every
  // 100 ms.
  absl::Duration stall_timeout = absl::ZeroDuration();

  // For URLs from callers (AudioInput.uri) rather than from the config:
  // Protocols curl may use, e.g. "https" or "http,https"; "" for curl's
  // default.
  std::string protocols;
  // Called with each address curl is about to connect to, after DNS
  // resolution: a non-OK status refuses it, and the transfer ends with that
  // status. Null: every address is allowed. A checked request never goes
  // through a proxy.
  std::function<absl::Status(const struct sockaddr& address)> check_address;
  // How errors name the request; default "METHOD URL". Set it when the URL may
  // carry credentials or signed tokens that must not reach a log.
  std::string description;
};

// Receives a response as it arrives. Every method runs on the client's
// event-loop thread and must return quickly: post heavy work elsewhere.
class ResponseObserver {
 public:
  virtual ~ResponseObserver() = default;
  // The status line and headers are complete (called again for each redirect or
  // 100-continue is not: only the final response).
  virtual void OnHeaders(int status_code, const HttpHeaders& headers) = 0;
  // A piece of the body, consumed. Return false to pause the transfer after it
  // (backpressure) until Transfer::Resume().
  virtual bool OnData(absl::string_view data) = 0;
  // Exactly once, last. OK when a whole response arrived, whatever its HTTP
  // status. Otherwise: UNAVAILABLE for connect failures, resets and stalls,
  // DEADLINE_EXCEEDED when the deadline passed, CANCELLED after Cancel().
  virtual void OnDone(absl::Status status) = 0;
};

// Whether a transfer failed before reaching the server at all (connection
// refused, name not resolved, connect timeout): such a failure cost the server
// nothing.
bool IsConnectFailure(const absl::Status& status);

// A buffered response.
struct HttpResponse {
  int status_code = 0;
  HttpHeaders headers;
  std::string body;

  // The first header named `name` (case-insensitive), or "".
  absl::string_view Header(absl::string_view name) const;
};

// An observer that collects the whole response and hands it to `done` (on the
// loop thread): the response with any HTTP status, or the transport error.
std::shared_ptr<ResponseObserver> MakeBufferingObserver(
    std::function<void(absl::StatusOr<HttpResponse>)> done);

// An asynchronous HTTP client: one libcurl multi handle driven by its own
// thread. Connections are kept alive and reused (HTTP/2 over TLS where the
// server offers it). Thread-safe.
class HttpClient {
 public:
  struct Options {
    // Idle connections kept for reuse.
    int max_idle_connections = 1024;
    // Connections per host at most; 0 = unlimited.
    int max_connections_per_host = 0;
  };

  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(
      const Options& options);
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create() {
    return Create(Options());
  }

  virtual ~HttpClient() = default;

  // Starts a request. Never blocks; the observer is called on the loop thread.
  virtual std::shared_ptr<Transfer> Start(
      HttpRequest request, std::shared_ptr<ResponseObserver> observer) = 0;

  // Starts a request whose whole body is collected; `done` runs on the loop
  // thread with the response (any HTTP status) or the transport error.
  std::shared_ptr<Transfer> Fetch(
      HttpRequest request,
      std::function<void(absl::StatusOr<HttpResponse>)> done);

  // Transfers started and not yet done.
  virtual int active_transfers() const = 0;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_HTTP_CLIENT_H_
