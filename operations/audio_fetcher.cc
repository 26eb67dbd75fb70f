#include "operations/audio_fetcher.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/proto_duration.h"

namespace voxgate::operations {
namespace {

absl::Status Refused(absl::string_view kind) {
  return absl::InvalidArgumentError(absl::StrCat("a ", kind, " address"));
}

// The kind of a non-public IPv4 address (host byte order), or "".
const char* Ipv4Kind(uint32_t ip) {
  struct Range {
    uint32_t base;
    int bits;
    const char* kind;
  };
  static constexpr Range kRanges[] = {
      {0x00000000, 8, "unspecified (0.0.0.0/8)"},
      {0x0A000000, 8, "private (10.0.0.0/8)"},
      {0x64400000, 10, "carrier-grade NAT (100.64.0.0/10)"},
      {0x7F000000, 8, "loopback (127.0.0.0/8)"},
      {0xA9FE0000, 16, "link-local (169.254.0.0/16, cloud metadata)"},
      {0xAC100000, 12, "private (172.16.0.0/12)"},
      {0xC0000000, 24, "reserved (192.0.0.0/24)"},
      {0xC0000200, 24, "documentation (192.0.2.0/24)"},
      {0xC0A80000, 16, "private (192.168.0.0/16)"},
      {0xC6120000, 15, "benchmarking (198.18.0.0/15)"},
      {0xC6336400, 24, "documentation (198.51.100.0/24)"},
      {0xCB007100, 24, "documentation (203.0.113.0/24)"},
      {0xE0000000, 4, "multicast (224.0.0.0/4)"},
      {0xF0000000, 4, "reserved (240.0.0.0/4)"},
  };
  for (const Range& range : kRanges) {
    const uint32_t mask =
        range.bits == 0 ? 0 : ~uint32_t{0} << (32 - range.bits);
    if ((ip & mask) == range.base) return range.kind;
  }
  return "";
}

const char* Ipv6Kind(const in6_addr& address) {
  const uint8_t* b = address.s6_addr;
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return "unspecified (::)";
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return "loopback (::1)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local (fe80::/10)";
  if ((b[0] & 0xfe) == 0xfc) return "private (fc00::/7, unique local)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local (fec0::/10)";
  if (b[0] == 0x01 && std::memcmp(b + 1, kZero, 7) == 0)
    return "discard-only (100::/64)";
  if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 &&
      b[5] == 1)
    return "local-use NAT64 (64:ff9b:1::/48)";
  if (b[0] == 0xff) return "multicast (ff00::/8)";
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
    return "documentation (2001:db8::/32)";
  return "";
}

// The IPv4 address inside an IPv6 one (::ffff:a.b.c.d, the deprecated
// IPv4-compatible ::a.b.c.d, 64:ff9b::a.b.c.d, 6to4 2002:AABB:CCDD::), in
// host byte order, or nothing.
bool EmbeddedIpv4(const in6_addr& address, uint32_t& ip) {
  const uint8_t* b = address.s6_addr;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0,    0,
                                          0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kCompatible[12] = {};
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0,
                                         0, 0,    0,    0,    0, 0};
  const auto at = [&](int i) {
    return (uint32_t{b[i]} << 24) | (uint32_t{b[i + 1]} << 16) |
           (uint32_t{b[i + 2]} << 8) | b[i + 3];
  };
  if (b[0] == 0x20 && b[1] == 0x02) {
    ip = at(2);
    return true;
  }
  if (std::memcmp(b, kMapped, 12) != 0 && std::memcmp(b, kNat64, 12) != 0 &&
      std::memcmp(b, kCompatible, 12) != 0) {
    return false;
  }
  ip = at(12);
  return true;
}

// The parts of a URL the fetcher needs, from libcurl's URL parser.
struct ParsedUrl {
  std::string url;  // normalised
  std::string scheme;
  std::string host;
};

absl::StatusOr<ParsedUrl> ParseUrl(const std::string& text,
                                   const std::string& base = "") {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(),
                                                          &curl_url_cleanup);
  if (url == nullptr) return absl::ResourceExhaustedError("curl_url failed");
  // A redirect's Location may be relative to the URL that sent it.
  // Any scheme parses, so that the message can name the one refused.
  constexpr unsigned int kFlags = CURLU_NON_SUPPORT_SCHEME;
  if (!base.empty() && curl_url_set(url.get(), CURLUPART_URL, base.c_str(),
                                    kFlags) != CURLUE_OK) {
    return absl::InvalidArgumentError("audio.uri: not a URL");
  }
  if (curl_url_set(url.get(), CURLUPART_URL, text.c_str(), kFlags) !=
      CURLUE_OK) {
    return absl::InvalidArgumentError(
        base.empty() ? "audio.uri: not an absolute URL"
                     : "audio.uri: a redirect's Location is not a URL");
  }
  ParsedUrl parsed;
  for (auto [part, out] : {std::pair{CURLUPART_URL, &parsed.url},
                           std::pair{CURLUPART_SCHEME, &parsed.scheme},
                           std::pair{CURLUPART_HOST, &parsed.host}}) {
    char* value = nullptr;
    if (curl_url_get(url.get(), part, &value, 0) == CURLUE_OK) {
      *out = value;
      curl_free(value);
    }
  }
  parsed.scheme = absl::AsciiStrToLower(parsed.scheme);
  parsed.host = absl::AsciiStrToLower(parsed.host);
  return parsed;
}

// One fetch: its current request, and the redirects it followed.
class FetchJob final : public upstream::Transfer,
                       public std::enable_shared_from_this<FetchJob> {
 public:
  FetchJob(const config::v1::AudioConfig& config, upstream::HttpClient& http,
           absl::Time deadline, std::vector<std::string> allowed_hosts,
           AudioFetcher::Done done)
      : config_(config),
        http_(http),
        deadline_(deadline),
        allowed_hosts_(std::move(allowed_hosts)),
        done_(std::move(done)) {}

  void Start(absl::StatusOr<ParsedUrl> url);
  void Cancel() override {
    std::shared_ptr<upstream::Transfer> transfer;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      transfer = transfer_;
    }
    if (transfer != nullptr) transfer->Cancel();
  }
  void Resume() override {}

 private:
  class Observer;

  void OnHeaders(int status, const upstream::HttpHeaders& headers);
  bool OnData(absl::string_view data);
  void OnDone(absl::Status status);
  void Finish(absl::StatusOr<std::string> result) {
    AudioFetcher::Done done;
    {
      absl::MutexLock lock(&mu_);
      done = std::move(done_);
      transfer_.reset();
    }
    if (done != nullptr) done(std::move(result));
  }
  // Ends the current request with `failure` (its OnDone reports it).
  void Abort(absl::Status failure) {
    failure_ = std::move(failure);
    absl::MutexLock lock(&mu_);
    if (transfer_ != nullptr) transfer_->Cancel();
  }
  std::string Host() const { return absl::StrCat("host ", url_.host); }

  const config::v1::AudioConfig& config_;
  upstream::HttpClient& http_;
  const absl::Time deadline_;
  // The gateway's and the caller's tenant's (fetch thread's).
  AllowedHostChain allowed_hosts_;

  // The fetch thread's, one request at a time.
  ParsedUrl url_;
  int redirects_ = 0;
  int status_ = 0;
  std::string location_;
  std::string body_;
  absl::Status failure_;

  absl::Mutex mu_;
  AudioFetcher::Done done_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<upstream::Transfer> transfer_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

class FetchJob::Observer final : public upstream::ResponseObserver {
 public:
  explicit Observer(std::shared_ptr<FetchJob> fetch)
      : fetch_(std::move(fetch)) {}
  void OnHeaders(int status, const upstream::HttpHeaders& headers) override {
    fetch_->OnHeaders(status, headers);
  }
  bool OnData(absl::string_view data) override { return fetch_->OnData(data); }
  void OnDone(absl::Status status) override {
    fetch_->OnDone(std::move(status));
  }

 private:
  const std::shared_ptr<FetchJob> fetch_;
};

void FetchJob::Start(absl::StatusOr<ParsedUrl> url) {
  if (!url.ok()) return Finish(url.status());
  url_ = *std::move(url);
  if (url_.scheme != "https" &&
      !(url_.scheme == "http" && config_.fetch().allow_http())) {
    return Finish(absl::InvalidArgumentError(
        absl::StrCat("audio.uri: ", url_.scheme,
                     ":// is not fetched; https:// is (and http:// when "
                     "audio.fetch.allow_http is set)")));
  }
  if (url_.host.empty()) {
    return Finish(absl::InvalidArgumentError("audio.uri: the URL has no host"));
  }
  const bool allowed_host = allowed_hosts_.Waive(url_.host);
  status_ = 0;
  location_.clear();
  body_.clear();
  upstream::HttpRequest request;
  request.method = "GET";
  request.url = url_.url;
  request.description = absl::StrCat("audio.uri: GET from ", Host());
  request.protocols = config_.fetch().allow_http() ? "http,https" : "https";
  request.deadline =
      std::min(deadline_, absl::Now() + ToAbsl(config_.fetch().timeout()));
  request.connect_timeout = ToAbsl(config_.fetch().connect_timeout());
  if (!allowed_host) {
    request.check_address = [host = Host()](const struct sockaddr& address) {
      absl::Status allowed = CheckPublicAddress(address);
      if (allowed.ok()) return allowed;
      return absl::InvalidArgumentError(absl::StrCat(
          "audio.uri: ", host, " resolves to ", allowed.message(),
          "; fetching from it is refused unless audio.fetch.allowed_hosts "
          "(or the tenant's fetch_allowed_hosts) lists the host, and a "
          "redirect from a host not listed never reaches one"));
    };
  }
  {
    // Held while starting: the request's end (on the fetch thread) waits
    // for transfer_ to be set before it clears it.
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      transfer_ = http_.Start(std::move(request),
                              std::make_shared<Observer>(shared_from_this()));
      return;
    }
  }
  Finish(absl::CancelledError("the caller cancelled the call"));
}

void FetchJob::OnHeaders(int status, const upstream::HttpHeaders& headers) {
  status_ = status;
  for (const auto& [name, value] : headers) {
    if (name == "location") location_ = value;
    int64_t length = 0;
    if (status / 100 == 2 && name == "content-length" &&
        absl::SimpleAtoi(value, &length) &&
        length > config_.max_audio_bytes()) {
      Abort(absl::InvalidArgumentError(
          absl::StrCat("audio.uri: ", Host(), " sends ", length,
                       " bytes, over the limit of ", config_.max_audio_bytes(),
                       " (audio.max_audio_bytes)")));
    }
  }
}

bool FetchJob::OnData(absl::string_view data) {
  if (status_ / 100 != 2 || !failure_.ok()) return true;  // not the audio
  body_.append(data.data(), data.size());
  if (static_cast<int64_t>(body_.size()) > config_.max_audio_bytes()) {
    Abort(absl::InvalidArgumentError(absl::StrCat(
        "audio.uri: ", Host(), " sent more than ", config_.max_audio_bytes(),
        " bytes (audio.max_audio_bytes)")));
  }
  return true;
}

void FetchJob::OnDone(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    transfer_.reset();
  }
  if (!failure_.ok()) return Finish(failure_);
  if (!status.ok()) return Finish(status);  // named by the description
  if (status_ / 100 == 3 && !location_.empty()) {
    if (++redirects_ > static_cast<int>(config_.fetch().max_redirects())) {
      return Finish(absl::InvalidArgumentError(absl::StrCat(
          "audio.uri: more than ", config_.fetch().max_redirects(),
          " redirects (audio.fetch.max_redirects), the last from ", Host())));
    }
    return Start(ParseUrl(location_, url_.url));
  }
  if (status_ / 100 != 2) {
    return Finish(absl::Status(
        status_ == 404 || status_ == 410   ? absl::StatusCode::kNotFound
        : status_ == 401 || status_ == 403 ? absl::StatusCode::kPermissionDenied
                                           : absl::StatusCode::kUnavailable,
        absl::StrCat("audio.uri: ", Host(), " answered HTTP ", status_)));
  }
  if (body_.empty()) {
    return Finish(absl::InvalidArgumentError(
        absl::StrCat("audio.uri: ", Host(), " sent no audio (an empty body)")));
  }
  Finish(std::move(body_));
}

}  // namespace

bool AllowedHostChain::Waive(const std::string& host) {
  all_waived_ = all_waived_ && std::find(allowed_.begin(), allowed_.end(),
                                         host) != allowed_.end();
  return all_waived_;
}

absl::Status CheckPublicAddress(const struct sockaddr& address) {
  if (address.sa_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    const char* kind = Ipv4Kind(ntohl(v4.sin_addr.s_addr));
    return *kind == '\0' ? absl::OkStatus() : Refused(kind);
  }
  if (address.sa_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    // IPv6's own ranges first (:: and ::1 also look IPv4-compatible).
    if (const char* kind = Ipv6Kind(v6.sin6_addr); *kind != '\0') {
      return Refused(kind);
    }
    uint32_t ip = 0;
    if (EmbeddedIpv4(v6.sin6_addr, ip)) {
      const char* kind = Ipv4Kind(ip);
      return *kind == '\0' ? absl::OkStatus() : Refused(kind);
    }
    return absl::OkStatus();
  }
  return Refused("non-IP");
}

absl::StatusOr<std::unique_ptr<AudioFetcher>> AudioFetcher::Create(
    const Config& config) {
  upstream::HttpClient::Options options;
  options.max_idle_connections = 16;
  auto http = upstream::HttpClient::Create(options);
  if (!http.ok()) return http.status();
  return std::unique_ptr<AudioFetcher>(
      new AudioFetcher(config.audio(), *std::move(http)));
}

AudioFetcher::AudioFetcher(const config::v1::AudioConfig& config,
                           std::unique_ptr<upstream::HttpClient> http)
    : config_(config), http_(std::move(http)) {}

std::shared_ptr<upstream::Transfer> AudioFetcher::Fetch(
    const std::string& uri, absl::Time deadline,
    const std::vector<std::string>& tenant_allowed_hosts, Done done) {
  std::vector<std::string> allowed(config_.fetch().allowed_hosts().begin(),
                                   config_.fetch().allowed_hosts().end());
  allowed.insert(allowed.end(), tenant_allowed_hosts.begin(),
                 tenant_allowed_hosts.end());
  for (std::string& host : allowed) host = absl::AsciiStrToLower(host);
  auto fetch = std::make_shared<FetchJob>(config_, *http_, deadline,
                                          std::move(allowed), std::move(done));
  if (uri.size() > 2048) {
    fetch->Start(
        absl::InvalidArgumentError("audio.uri: longer than 2048 characters"));
  } else {
    fetch->Start(ParseUrl(uri));
  }
  return fetch;
}

}  // namespace voxgate::operations
