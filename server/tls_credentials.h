#ifndef VOXGATE_SERVER_TLS_CREDENTIALS_H_
#define VOXGATE_SERVER_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/pem_file.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"
#include "voxgate/config/v1/config.pb.h"

namespace voxgate::server {

// The gRPC listener's credentials: plaintext without tls.cert_file; else TLS
// 1.2 or later (gRPC's default floor) with ALPN h2, the certificate and key
// re-read by gRPC every tls.reload_interval (new handshakes get a rotated
// certificate, open connections keep theirs), and with tls.client_ca_file
// client certificates verified against it (required unless
// tls.require_client_cert is false). INVALID_ARGUMENT naming the key when a
// file cannot be read or holds no PEM block.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const ::voxgate::config::v1::TlsConfig& tls);

// The caller's verified client-certificate identity: its SPIFFE id, else its
// first URI or DNS SAN, else its common name; "" without one.
std::string PeerIdentity(const grpc::ServerContextBase& context);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_TLS_CREDENTIALS_H_
