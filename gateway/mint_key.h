#ifndef VOXGATE_GATEWAY_MINT_KEY_H_
#define VOXGATE_GATEWAY_MINT_KEY_H_

#include <string>
#include <vector>

namespace voxgate::gateway {

// `voxgate mint-key --tenant=NAME [--json]`: prints a new API key once and
// the keys-file line with its hash. The key format lives with the gateway
// that checks it; clients carry none. Returns the process exit code (2 on a
// usage error).
int RunMintKey(const std::vector<std::string>& args);

}  // namespace voxgate::gateway

#endif  // VOXGATE_GATEWAY_MINT_KEY_H_
