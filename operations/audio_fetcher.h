#ifndef VOXGATE_OPERATIONS_AUDIO_FETCHER_H_
#define VOXGATE_OPERATIONS_AUDIO_FETCHER_H_

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "upstream/http_client.h"
#include "upstream/transfer.h"

namespace voxgate::operations {

// OK for a public unicast address; otherwise INVALID_ARGUMENT naming its
// kind: loopback, private (RFC 1918, IPv6 ULA), link-local (169.254.0.0/16
// and fe80::/10, where cloud metadata services answer), carrier-grade NAT,
// multicast, unspecified, or reserved (documentation, benchmarking, 240/4).
// IPv4 inside IPv6 (mapped, NAT64) is judged as the IPv4 address.
absl::Status CheckPublicAddress(const struct sockaddr& address);

// Which hops of one fetch skip the address check: a host on the allowed list
// (an internal object store), but only while every hop before it did too,
// so a public host cannot redirect a fetch into an allowed internal one.
class AllowedHostChain {
 public:
  // `allowed`: lower-case host names or IP literals.
  explicit AllowedHostChain(std::vector<std::string> allowed)
      : allowed_(std::move(allowed)) {}
  // The next hop's host (lower case): whether its address check is waived.
  bool Waive(const std::string& host);

 private:
  const std::vector<std::string> allowed_;
  bool all_waived_ = true;
};

// Fetches AudioInput.uri for the operations, as audio.fetch says: https://
// only unless allow_http; redirects followed one at a time, each new URL
// checked like the first, at most max_redirects; every connection's address
// checked after DNS resolution (CheckPublicAddress) unless the URL's host is
// in allowed_hosts or the tenant's, and so was every URL before it (a public
// host cannot redirect into an allowed internal one); the body at most audio.max_audio_bytes. Errors name the
// URL's host and the limit, never its path, query or credentials. Requests
// go through a client of their own, not the upstream pools'. Thread-safe.
class AudioFetcher {
 public:
  using Done = std::function<void(absl::StatusOr<std::string>)>;

  static absl::StatusOr<std::unique_ptr<AudioFetcher>> Create(
      const Config& config);

  // Starts fetching `uri`; `done` runs once, on the fetch thread, with the
  // body or the error. Cancel() on the handle ends it with CANCELLED.
  // `tenant_allowed_hosts` are the caller's tenant's, besides allowed_hosts.
  std::shared_ptr<upstream::Transfer> Fetch(
      const std::string& uri, absl::Time deadline,
      const std::vector<std::string>& tenant_allowed_hosts, Done done);

 private:
  AudioFetcher(const config::v1::AudioConfig& config,
               std::unique_ptr<upstream::HttpClient> http);

  const config::v1::AudioConfig config_;
  std::unique_ptr<upstream::HttpClient> http_;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_AUDIO_FETCHER_H_
