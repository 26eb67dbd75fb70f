#ifndef VOXGATE_TESTS_FAKE_UPSTREAM_HTTP_WIRE_H_
#define VOXGATE_TESTS_FAKE_UPSTREAM_HTTP_WIRE_H_

// The HTTP/1.1 server side of one TCP connection, as small as the fake needs:
// requests with Content-Length or chunked bodies, keep-alive, plain and chunked
// responses, and the misbehaviours tests ask for (reset, hang).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace voxgate::testing {

struct WireRequest {
  std::string method;
  std::string path;  // without the query
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;

  // The first header named `name` (lower case), or "".
  absl::string_view Header(absl::string_view name) const;
};

class HttpConnection {
 public:
  explicit HttpConnection(int fd) : fd_(fd) {}
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Reads the next request; nullopt when the peer closed or sent garbage.
  std::optional<WireRequest> ReadRequest();

  // A complete response with Content-Length.
  bool WriteResponse(
      int status, absl::string_view content_type, absl::string_view body,
      const std::vector<std::pair<std::string, std::string>>& extra = {});
  // Status line and headers of a chunked response; then WriteChunk()s and
  // EndChunks().
  bool StartChunked(int status, absl::string_view content_type);
  bool WriteChunk(absl::string_view data);
  bool EndChunks();
  // Raw bytes (for responses cut short on purpose).
  bool WriteRaw(absl::string_view data);

  // Waits up to `timeout`; true when the peer has closed its side (or reset).
  bool PeerClosedWithin(absl::Duration timeout);
  // Closes with a TCP reset instead of a FIN.
  void Reset();

 private:
  bool Fill();  // reads more into buffer_; false on EOF or error

  int fd_;
  std::string buffer_;
};

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_FAKE_UPSTREAM_HTTP_WIRE_H_
