#include "upstream/curl_transfer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "upstream/curl_loop.h"

namespace voxgate::upstream::curl {

absl::Status ConnectFailure(absl::Status status) {
  status.SetPayload(kConnectFailurePayload, absl::Cord("1"));
  return status;
}

void CurlTransfer::Cancel() {
  if (auto loop = loop_.lock())
    loop->Post(LoopCore::Command::kCancel, shared_from_this());
}

void CurlTransfer::Resume() {
  if (auto loop = loop_.lock())
    loop->Post(LoopCore::Command::kResume, shared_from_this());
}

absl::Status CurlTransfer::Configure(CURL* easy) {
  easy_.reset(easy);
  if (easy_ == nullptr)
    return absl::ResourceExhaustedError("curl_easy_init failed");
  CURL* e = easy_.get();
  curl_easy_setopt(e, CURLOPT_URL, request_.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CurlTransfer::OnHeaderLine);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlTransfer::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(
      e, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(request_.connect_timeout)));
  if (request_.deadline != absl::InfiniteFuture()) {
    const int64_t left =
        absl::ToInt64Milliseconds(request_.deadline - absl::Now());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(1, left)));
  }
  // The first-byte and stall timeouts start now (LoopCore::FailStalled checks
  // them; curl's low-speed limit would also count the wait for the first
  // byte, which a model may spend thinking).
  last_activity_ = absl::Now();

  if (!request_.protocols.empty()) {
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, request_.protocols.c_str());
  }
  if (request_.check_address != nullptr) {
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &CurlTransfer::OpenSocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    // Direct: through a proxy ($https_proxy) the check would see the
    // proxy's address, not the target's.
    curl_easy_setopt(e, CURLOPT_PROXY, "");
  }

  curl_slist* list = nullptr;
  for (const auto& [name, value] : request_.headers) {
    list = curl_slist_append(list, absl::StrCat(name, ": ", value).c_str());
  }
  // No "Expect: 100-continue" round trip before large uploads.
  list = curl_slist_append(list, "Expect:");
  header_list_.reset(list);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);

  if (!request_.form.empty()) {
    mime_.reset(curl_mime_init(e));
    for (const FormField& field : request_.form) {
      curl_mimepart* part = curl_mime_addpart(mime_.get());
      curl_mime_name(part, field.name.c_str());
      curl_mime_data(part, field.value.data(), field.value.size());
      if (!field.filename.empty())
        curl_mime_filename(part, field.filename.c_str());
      if (!field.content_type.empty())
        curl_mime_type(part, field.content_type.c_str());
    }
    curl_easy_setopt(e, CURLOPT_MIMEPOST, mime_.get());
  } else if (request_.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request_.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request_.body.size()));
  } else if (request_.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request_.method.c_str());
  }
  return absl::OkStatus();
}

// Every connection curl opens comes here once its address is resolved, so a
// name that resolves to a refused address is caught whatever the name.
curl_socket_t CurlTransfer::OpenSocket(void* self, curlsocktype purpose,
                                       struct curl_sockaddr* address) {
  auto* transfer = static_cast<CurlTransfer*>(self);
  if (purpose == CURLSOCKTYPE_IPCXN) {
    absl::Status allowed = transfer->request_.check_address(address->addr);
    if (!allowed.ok()) {
      if (transfer->refused_.ok()) transfer->refused_ = std::move(allowed);
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

size_t CurlTransfer::OnHeaderLine(char* data, size_t size, size_t count,
                                  void* self) {
  auto* transfer = static_cast<CurlTransfer*>(self);
  absl::string_view line(data, size * count);
  transfer->received_bytes_ = true;
  transfer->last_activity_ = absl::Now();
  if (absl::StartsWith(line, "HTTP/")) {
    transfer->response_headers_.clear();  // a new response (after 1xx)
  } else if (absl::StripAsciiWhitespace(line).empty()) {
    long code = 0;
    curl_easy_getinfo(transfer->easy_.get(), CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200) transfer->DeliverHeaders();
  } else if (const size_t colon = line.find(':');
             colon != absl::string_view::npos) {
    transfer->response_headers_.emplace_back(
        absl::AsciiStrToLower(
            absl::StripAsciiWhitespace(line.substr(0, colon))),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * count;
}

void CurlTransfer::DeliverHeaders() {
  if (headers_delivered_) return;
  headers_delivered_ = true;
  long code = 0;
  curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &code);
  observer_->OnHeaders(static_cast<int>(code), response_headers_);
}

size_t CurlTransfer::OnBody(char* data, size_t size, size_t count, void* self) {
  auto* transfer = static_cast<CurlTransfer*>(self);
  // Paused: leave the bytes with curl, which offers them again after Resume().
  if (transfer->paused_) return CURL_WRITEFUNC_PAUSE;
  transfer->received_bytes_ = true;
  transfer->last_activity_ = absl::Now();
  transfer->DeliverHeaders();
  if (!transfer->observer_->OnData(absl::string_view(data, size * count))) {
    transfer->paused_ = true;
  }
  return size * count;
}

absl::Status CurlTransfer::MapResult(CURLcode code) const {
  // A refused address ends the transfer unless another address worked.
  if (code != CURLE_OK && !refused_.ok()) return refused_;
  const std::string where = Where();
  const std::string detail =
      error_[0] != '\0' ? error_ : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OK:
      return absl::OkStatus();
    case CURLE_OPERATION_TIMEDOUT: {
      if (absl::Now() + absl::Milliseconds(5) >= request_.deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat(where, ": no complete answer within the deadline"));
      }
      double connect_time = 0;
      curl_easy_getinfo(easy_.get(), CURLINFO_CONNECT_TIME, &connect_time);
      if (connect_time <= 0) {
        return ConnectFailure(absl::UnavailableError(
            absl::StrCat(where, ": connect timeout after ",
                         absl::FormatDuration(request_.connect_timeout))));
      }
      return absl::UnavailableError(
          absl::StrCat(where, ": timed out: ", detail));
    }
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return ConnectFailure(absl::UnavailableError(
          absl::StrCat(where, ": cannot connect: ", detail)));
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return absl::UnavailableError(absl::StrCat(
          where, ": connection reset ",
          received_bytes_ ? "mid-response" : "before any response byte", ": ",
          detail));
    default:
      return absl::UnavailableError(absl::StrCat(where, ": ", detail));
  }
}

void CurlTransfer::Finish(absl::Status status) {
  if (finished_) return;
  finished_ = true;
  if (status.ok()) DeliverHeaders();
  observer_->OnDone(std::move(status));
  observer_.reset();
}

}  // namespace voxgate::upstream::curl
