#include "tests/fake_upstream/http_wire.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace voxgate::testing {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

}  // namespace

absl::string_view WireRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) close(fd_);
}

bool HttpConnection::Fill() {
  char chunk[65536];
  while (true) {
    const ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

std::optional<WireRequest> HttpConnection::ReadRequest() {
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHeaderBytes || !Fill()) return std::nullopt;
  }
  WireRequest request;
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(buffer_).substr(0, header_end), "\r\n");
  std::vector<absl::string_view> request_line = absl::StrSplit(lines[0], ' ');
  if (request_line.size() != 3) return std::nullopt;
  request.method = std::string(request_line[0]);
  absl::string_view target = request_line[1];
  if (const std::size_t q = target.find('?'); q != absl::string_view::npos) {
    request.query = std::string(target.substr(q + 1));
    target = target.substr(0, q);
  }
  request.path = std::string(target);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) return std::nullopt;
    request.headers.emplace_back(
        absl::AsciiStrToLower(lines[i].substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  buffer_.erase(0, header_end + 4);

  if (absl::AsciiStrToLower(request.Header("transfer-encoding")) == "chunked") {
    while (true) {
      std::size_t line_end;
      while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!Fill()) return std::nullopt;
      }
      std::size_t size = 0;
      if (!absl::SimpleHexAtoi(buffer_.substr(0, line_end), &size))
        return std::nullopt;
      while (buffer_.size() < line_end + 2 + size + 2) {
        if (!Fill()) return std::nullopt;
      }
      request.body.append(buffer_, line_end + 2, size);
      buffer_.erase(0, line_end + 2 + size + 2);
      if (size == 0) break;
    }
  } else {
    std::size_t length = 0;
    if (!request.Header("content-length").empty() &&
        !absl::SimpleAtoi(request.Header("content-length"), &length)) {
      return std::nullopt;
    }
    while (buffer_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    request.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
  }
  return request;
}

bool HttpConnection::WriteRaw(absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool HttpConnection::WriteResponse(
    int status, absl::string_view content_type, absl::string_view body,
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string head = absl::StrCat("HTTP/1.1 ", status, " ", Reason(status),
                                  "\r\nContent-Type: ", content_type,
                                  "\r\nContent-Length: ", body.size(), "\r\n");
  for (const auto& [name, value] : extra)
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  absl::StrAppend(&head, "\r\n", body);
  return WriteRaw(head);
}

bool HttpConnection::StartChunked(int status, absl::string_view content_type) {
  return WriteRaw(absl::StrCat("HTTP/1.1 ", status, " ", Reason(status),
                               "\r\nContent-Type: ", content_type,
                               "\r\nCache-Control: no-cache"
                               "\r\nTransfer-Encoding: chunked\r\n\r\n"));
}

bool HttpConnection::WriteChunk(absl::string_view data) {
  if (data.empty()) return true;
  return WriteRaw(absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n"));
}

bool HttpConnection::EndChunks() { return WriteRaw("0\r\n\r\n"); }

bool HttpConnection::PeerClosedWithin(absl::Duration timeout) {
  pollfd fd{fd_, POLLIN | POLLRDHUP, 0};
  // Never a negative timeout: poll() would wait forever.
  const int millis = static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  if (poll(&fd, 1, millis) <= 0) {
    return false;
  }
  if (fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char byte;
  return recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

void HttpConnection::Reset() {
  linger hard{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  close(fd_);
  fd_ = -1;
}

}  // namespace voxgate::testing
