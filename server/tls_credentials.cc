#include "server/tls_credentials.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "common/peer_identity.h"
#include "absl/strings/str_cat.h"
#include "common/proto_duration.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace voxgate::server {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const ::voxgate::config::v1::TlsConfig& tls) {
  if (tls.cert_file().empty()) return grpc::InsecureServerCredentials();
  // gRPC's watcher would only log a bad file at the first handshake; a
  // gateway that cannot serve TLS should not start.
  for (const auto& [key, path] : {std::pair{"tls.cert_file", tls.cert_file()},
                                  std::pair{"tls.key_file", tls.key_file()}}) {
    auto pem = ReadPemFile(key, path);
    if (!pem.ok()) return pem.status();
  }
  const bool mutual = !tls.client_ca_file().empty();
  if (mutual) {
    auto pem = ReadPemFile("tls.client_ca_file", tls.client_ca_file());
    if (!pem.ok()) return pem.status();
  }
  const unsigned refresh_seconds = static_cast<unsigned>(std::max<int64_t>(
      1, absl::ToInt64Seconds(ToAbsl(tls.reload_interval()))));
  auto provider = mutual
                      ? std::make_shared<
                            grpc::experimental::FileWatcherCertificateProvider>(
                            tls.key_file(), tls.cert_file(),
                            tls.client_ca_file(), refresh_seconds)
                      : std::make_shared<
                            grpc::experimental::FileWatcherCertificateProvider>(
                            tls.key_file(), tls.cert_file(), refresh_seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (mutual) {
    options.watch_root_certs();
    options.set_cert_request_type(
        tls.require_client_cert()
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

std::string PeerIdentity(const grpc::ServerContextBase& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  const auto values = [&](const char* property) {
    std::vector<std::string> out;
    for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
      out.emplace_back(value.data(), value.size());
    }
    return out;
  };
  const std::vector<std::string> common_names =
      values(GRPC_X509_CN_PROPERTY_NAME);
  return ClientCertificateIdentity(
      values(GRPC_PEER_URI_PROPERTY_NAME), values(GRPC_PEER_DNS_PROPERTY_NAME),
      common_names.empty() ? "" : common_names.front());
}

}  // namespace voxgate::server
