#include "upstream/http_client.h"

#include <curl/curl.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace voxgate::upstream {
namespace {

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

constexpr char kConnectFailurePayload[] = "voxgate.upstream/connect-failure";

absl::Status ConnectFailure(absl::Status status) {
  status.SetPayload(kConnectFailurePayload, absl::Cord("1"));
  return status;
}

constexpr absl::Duration kStallCheckInterval = absl::Milliseconds(100);

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

// The event loop: owns the multi handle and the thread. Kept alive by the
// client and reachable from transfers through weak pointers.
class LoopCore {
 public:
  enum class Command { kStart, kCancel, kResume };

  explicit LoopCore(std::unique_ptr<CURLM, CurlMultiDeleter> multi)
      : multi_(std::move(multi)) {}

  void Run();
  void Stop() {
    stopping_.store(true);
    curl_multi_wakeup(multi_.get());
  }
  void Post(Command command, std::shared_ptr<CurlTransfer> transfer) {
    bool first;
    {
      absl::MutexLock lock(&mu_);
      first = commands_.empty();
      commands_.emplace_back(command, std::move(transfer));
    }
    // One wake-up per batch; none from the loop's own callbacks, since the loop
    // looks at the queue before it polls again.
    if (first && std::this_thread::get_id() != loop_thread_.load()) {
      curl_multi_wakeup(multi_.get());
    }
  }
  int active() const { return active_.load(std::memory_order_relaxed); }
  void CountStarted() { active_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void RunCommands();
  void Complete(CURL* easy, absl::Status status);
  void FailStalled();
  bool HasCommands() {
    absl::MutexLock lock(&mu_);
    return !commands_.empty();
  }
  // An easy handle from the idle list or a new one; handles are reused because
  // creating them costs more than resetting them.
  CURL* TakeEasy() {
    if (idle_easy_.empty()) return curl_easy_init();
    CURL* easy = idle_easy_.back();
    idle_easy_.pop_back();
    return easy;
  }
  void RecycleEasy(CURL* easy) {
    if (easy == nullptr) return;
    if (idle_easy_.size() >= kMaxIdleEasyHandles) {
      curl_easy_cleanup(easy);
      return;
    }
    curl_easy_reset(easy);
    idle_easy_.push_back(easy);
  }
  static constexpr std::size_t kMaxIdleEasyHandles = 256;

  std::unique_ptr<CURLM, CurlMultiDeleter> multi_;
  std::atomic<std::thread::id> loop_thread_;
  std::vector<CURL*> idle_easy_;  // loop thread only
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
  absl::Mutex mu_;
  std::deque<std::pair<Command, std::shared_ptr<CurlTransfer>>> commands_
      ABSL_GUARDED_BY(mu_);
  // Loop thread only: transfers added to the multi handle.
  std::unordered_map<CURL*, std::shared_ptr<CurlTransfer>> running_;
};

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

void LoopCore::RunCommands() {
  std::deque<std::pair<Command, std::shared_ptr<CurlTransfer>>> commands;
  {
    absl::MutexLock lock(&mu_);
    commands.swap(commands_);
  }
  for (auto& [command, transfer] : commands) {
    switch (command) {
      case Command::kStart: {
        absl::Status configured = transfer->Configure(TakeEasy());
        if (!configured.ok()) {
          transfer->Finish(configured);
          active_.fetch_sub(1, std::memory_order_relaxed);
          break;
        }
        running_[transfer->easy()] = transfer;
        curl_multi_add_handle(multi_.get(), transfer->easy());
        break;
      }
      case Command::kCancel:
        if (transfer->easy() != nullptr && running_.count(transfer->easy())) {
          Complete(
              transfer->easy(),
              absl::CancelledError("upstream request cancelled by the caller"));
        }
        break;
      case Command::kResume:
        if (transfer->easy() != nullptr && running_.count(transfer->easy()) &&
            transfer->paused()) {
          transfer->Unpause();
          transfer->Touch();
        }
        break;
    }
  }
}

void LoopCore::Complete(CURL* easy, absl::Status status) {
  auto it = running_.find(easy);
  if (it == running_.end()) return;
  std::shared_ptr<CurlTransfer> transfer = std::move(it->second);
  running_.erase(it);
  // Removing the handle closes a connection mid-transfer; a finished one stays
  // cached for reuse.
  curl_multi_remove_handle(multi_.get(), easy);
  active_.fetch_sub(1, std::memory_order_relaxed);
  RecycleEasy(transfer->ReleaseEasy());
  transfer->Finish(std::move(status));
}

void LoopCore::FailStalled() {
  const absl::Time now = absl::Now();
  std::vector<std::pair<CURL*, absl::Status>> stalled;
  for (const auto& [easy, transfer] : running_) {
    absl::Status status = transfer->Stalled(now);
    if (!status.ok()) stalled.emplace_back(easy, std::move(status));
  }
  for (auto& [easy, status] : stalled) Complete(easy, std::move(status));
}

void LoopCore::Run() {
  loop_thread_.store(std::this_thread::get_id());
  absl::Time next_stall_check = absl::Now();
  while (!stopping_.load()) {
    RunCommands();
    if (absl::Now() >= next_stall_check) {
      FailStalled();
      next_stall_check = absl::Now() + kStallCheckInterval;
    }
    int still_running = 0;
    curl_multi_perform(multi_.get(), &still_running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      auto it = running_.find(easy);
      if (it == running_.end()) continue;
      Complete(easy, it->second->MapResult(message->data.result));
    }
    // Commands posted by the callbacks above did not wake us: look again at
    // once. Otherwise wake often enough to notice stalls; curl wakes earlier
    // for its own timers.
    curl_multi_poll(
        multi_.get(), nullptr, 0,
        HasCommands()
            ? 0
            : static_cast<int>(absl::ToInt64Milliseconds(kStallCheckInterval)),
        nullptr);
  }
  // Shutting down: every transfer still running ends as cancelled.
  RunCommands();
  while (!running_.empty()) {
    Complete(running_.begin()->first,
             absl::CancelledError("HTTP client shutting down"));
  }
  for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
  idle_easy_.clear();
}

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
  return status.GetPayload(kConnectFailurePayload).has_value();
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
