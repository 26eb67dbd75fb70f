#include "upstream/http_client.h"

#include <curl/curl.h>

#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "upstream/curl_loop.h"
#include "upstream/curl_transfer.h"

namespace voxgate::upstream {
namespace {

using curl::CurlMultiDeleter;
using curl::CurlTransfer;
using curl::LoopCore;

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(std::shared_ptr<LoopCore> loop)
      : loop_(std::move(loop)), thread_([loop = loop_] { loop->Run(); }) {}

  ~CurlHttpClient() override {
    loop_->Stop();
    thread_.join();
  }

  std::shared_ptr<Transfer> Start(
      HttpRequest request,
      std::shared_ptr<ResponseObserver> observer) override {
    auto transfer = std::make_shared<CurlTransfer>(loop_, std::move(request),
                                                   std::move(observer));
    loop_->CountStarted();
    loop_->Post(LoopCore::Command::kStart, transfer);
    return transfer;
  }

  int active_transfers() const override { return loop_->active(); }

 private:
  std::shared_ptr<LoopCore> loop_;
  std::thread thread_;
};

// Collects a whole response for Fetch().
class BufferingObserver final : public ResponseObserver {
 public:
  explicit BufferingObserver(
      std::function<void(absl::StatusOr<HttpResponse>)> done)
      : done_(std::move(done)) {}

  void OnHeaders(int status_code, const HttpHeaders& headers) override {
    response_.status_code = status_code;
    response_.headers = headers;
  }
  bool OnData(absl::string_view data) override {
    response_.body.append(data.data(), data.size());
    return true;
  }
  void OnDone(absl::Status status) override {
    if (status.ok()) {
      done_(std::move(response_));
    } else {
      done_(std::move(status));
    }
  }

 private:
  std::function<void(absl::StatusOr<HttpResponse>)> done_;
  HttpResponse response_;
};

}  // namespace

absl::string_view HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

bool IsConnectFailure(const absl::Status& status) {
  return status.GetPayload(curl::kConnectFailurePayload).has_value();
}

std::shared_ptr<ResponseObserver> MakeBufferingObserver(
    std::function<void(absl::StatusOr<HttpResponse>)> done) {
  return std::make_shared<BufferingObserver>(std::move(done));
}

std::shared_ptr<Transfer> HttpClient::Fetch(
    HttpRequest request,
    std::function<void(absl::StatusOr<HttpResponse>)> done) {
  return Start(std::move(request), MakeBufferingObserver(std::move(done)));
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(
    const Options& options) {
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init: ", curl_easy_strerror(global)));
  }
  std::unique_ptr<CURLM, CurlMultiDeleter> multi(curl_multi_init());
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS,
                    static_cast<long>(options.max_idle_connections));
  curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options.max_connections_per_host));
  return std::make_unique<CurlHttpClient>(
      std::make_shared<LoopCore>(std::move(multi)));
}

}  // namespace voxgate::upstream
