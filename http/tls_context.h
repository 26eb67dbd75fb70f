#ifndef VOXGATE_HTTP_TLS_CONTEXT_H_
#define VOXGATE_HTTP_TLS_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/file_watcher.h"
#include "common/logging.h"
#include "common/timer_queue.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl
struct ssl_st;  // OpenSSL's SSL

namespace voxgate::http {

// The files of a TLS listener, as the `tls` config names them.
struct TlsFiles {
  std::string cert_file;       // PEM chain
  std::string key_file;        // its private key
  std::string client_ca_file;  // "" : no client certificates asked for
  bool require_client_cert = true;
};

// The OpenSSL contexts the HTTP listeners (front door, admin port) hand new
// connections: TLS 1.2 or later, ALPN http/1.1. Every `reload_interval` the
// files are checked; when one changed, new contexts are built from them, so
// a certificate cert-manager rotates is served to new connections while open
// ones keep the context they started with (they hold a reference). A file
// that does not load then keeps the previous contexts and logs a warning
// naming the config key, never the file's contents. Thread-safe.
class TlsContextSource {
 public:
  // INVALID_ARGUMENT naming the key (tls.cert_file, tls.key_file,
  // tls.client_ca_file) when a file cannot be read or does not load.
  static absl::StatusOr<std::unique_ptr<TlsContextSource>> Create(
      TlsFiles files, absl::Duration reload_interval, TimerQueue& timers,
      const Logger& logger);
  ~TlsContextSource();

  // For the HTTP front door: client certificates asked for (and required
  // unless require_client_cert is false) when client_ca_file is set.
  std::shared_ptr<boost::asio::ssl::context> WithClientAuth() const;
  // For the admin port: never asks for a client certificate (the kubelet's
  // probes and Prometheus present none; /metrics has its own key check).
  std::shared_ptr<boost::asio::ssl::context> WithoutClientAuth() const;

 private:
  struct Contexts {
    std::shared_ptr<boost::asio::ssl::context> with_client_auth;
    std::shared_ptr<boost::asio::ssl::context> without_client_auth;
  };
  static absl::StatusOr<Contexts> Load(const TlsFiles& files);
  TlsContextSource(TlsFiles files, Contexts contexts, const Logger& logger);
  void Reload();

  const TlsFiles files_;
  const Logger& logger_;
  mutable absl::Mutex mu_;
  Contexts contexts_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<FileWatcher> watcher_;
};

// The verified client certificate's identity, as gRPC reports it for the
// gRPC port (server/tls_credentials.h): its SPIFFE id, else its first URI
// SAN, else its first DNS SAN, else its common name; "" when the client sent
// no certificate or it did not verify.
std::string VerifiedPeerIdentity(const ssl_st* connection);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_TLS_CONTEXT_H_
