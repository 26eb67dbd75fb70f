#ifndef VOXGATE_UPSTREAM_CURL_TRANSFER_H_
#define VOXGATE_UPSTREAM_CURL_TRANSFER_H_

// One libcurl request of the HTTP client's event loop (curl_loop.h), and the
// handles it owns. Internal to http_client.cc and curl_loop.cc.

#include <curl/curl.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "upstream/http_client.h"

namespace voxgate::upstream::curl {

struct CurlEasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct CurlMultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlMimeDeleter {
  void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};

class LoopCore;

// Marks a status as a connect failure (IsConnectFailure).
absl::Status ConnectFailure(absl::Status status);
inline constexpr char kConnectFailurePayload[] =
    "voxgate.upstream/connect-failure";

// One request on the loop. Fields without a mutex belong to the loop thread.
class CurlTransfer final : public Transfer,
                           public std::enable_shared_from_this<CurlTransfer> {
 public:
  CurlTransfer(std::weak_ptr<LoopCore> loop, HttpRequest request,
               std::shared_ptr<ResponseObserver> observer)
      : loop_(std::move(loop)),
        request_(std::move(request)),
        observer_(std::move(observer)) {}

  void Cancel() override;
  void Resume() override;

  // How errors name the request.
  std::string Where() const {
    return request_.description.empty()
               ? absl::StrCat(request_.method, " ", request_.url)
               : request_.description;
  }

  // Loop thread only, below.
  absl::Status Configure(CURL* easy);
  CURL* ReleaseEasy() { return easy_.release(); }
  void Finish(absl::Status status);
  absl::Status MapResult(CURLcode code) const;
  CURL* easy() const { return easy_.get(); }
  bool paused() const { return paused_; }
  // The transfer's timing error when it waited too long for its first byte
  // or, after it, for the next (a paused transfer is waiting on us, not on the
  // server, and never stalls); OK otherwise.
  absl::Status Stalled(absl::Time now) const {
    if (!received_bytes_) {
      if (request_.first_byte_timeout <= absl::ZeroDuration() ||
          now - last_activity_ <= request_.first_byte_timeout) {
        return absl::OkStatus();
      }
      return absl::UnavailableError(
          absl::StrCat(Where(), ": no response byte within ",
                       absl::FormatDuration(request_.first_byte_timeout),
                       " (first_byte_timeout)"));
    }
    if (request_.stall_timeout <= absl::ZeroDuration() || paused_ ||
        now - last_activity_ <= request_.stall_timeout) {
      return absl::OkStatus();
    }
    return absl::UnavailableError(absl::StrCat(
        Where(), ": stalled, no data for ",
        absl::FormatDuration(request_.stall_timeout), " (stall_timeout)"));
  }
  void Touch() { last_activity_ = absl::Now(); }
  void Unpause() {
    paused_ = false;
    curl_easy_pause(easy_.get(), CURLPAUSE_CONT);
  }

 private:
  static curl_socket_t OpenSocket(void* self, curlsocktype purpose,
                                  struct curl_sockaddr* address);
  static size_t OnHeaderLine(char* data, size_t size, size_t count, void* self);
  static size_t OnBody(char* data, size_t size, size_t count, void* self);
  void DeliverHeaders();

  std::weak_ptr<LoopCore> loop_;
  HttpRequest request_;
  std::shared_ptr<ResponseObserver> observer_;
  std::unique_ptr<CURL, CurlEasyDeleter> easy_;
  std::unique_ptr<curl_slist, CurlSlistDeleter> header_list_;
  std::unique_ptr<curl_mime, CurlMimeDeleter> mime_;
  char error_[CURL_ERROR_SIZE] = {};
  // Why check_address refused an address (the transfer's end status).
  absl::Status refused_;
  HttpHeaders response_headers_;
  bool headers_delivered_ = false;
  bool paused_ = false;
  bool finished_ = false;
  bool received_bytes_ = false;
  // When the transfer started, then when its last byte arrived.
  absl::Time last_activity_;
};

}  // namespace voxgate::upstream::curl

#endif  // VOXGATE_UPSTREAM_CURL_TRANSFER_H_
