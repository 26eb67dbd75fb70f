#ifndef VOXGATE_CLIENT_CPP_CHANNEL_H_
#define VOXGATE_CLIENT_CPP_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace voxgate::cli {

struct ChannelOptions {
  std::string address;
  // TLS when any of these is set: the CA that signs the gateway's
  // certificate (empty: the system's roots), and a client certificate and key
  // for mTLS.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool tls = false;
  // Sent as `authorization: Bearer <key>` on every call when set.
  std::string api_key;
};

// A channel to the gateway as the options say. INVALID_ARGUMENT naming the
// flag when a file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ChannelOptions& options);

}  // namespace voxgate::cli

#endif  // VOXGATE_CLIENT_CPP_CHANNEL_H_
