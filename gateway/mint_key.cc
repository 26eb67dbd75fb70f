#include "gateway/mint_key.h"

#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "tenancy/api_key.h"

namespace voxgate::gateway {

int RunMintKey(const std::vector<std::string>& args) {
  std::string tenant;
  bool json = false;
  bool valid = true;
  for (const std::string& arg : args) {
    if (absl::StartsWith(arg, "--tenant=")) {
      tenant = arg.substr(sizeof("--tenant=") - 1);
    } else if (arg == "--json") {
      json = true;
    } else {
      valid = false;
    }
  }
  if (!valid || !tenancy::IsValidTenantName(tenant)) {
    std::cerr << "usage: voxgate mint-key --tenant=NAME [--json], the name "
                 "being 1 to 64 of [a-z0-9_.-] as in the keys file\n";
    return 2;
  }
  const tenancy::MintedKey minted = tenancy::MintKey();
  if (json) {
    std::cout << absl::StrFormat(
        "{\"key\": \"%s\", \"id\": \"%s\", \"tenant\": \"%s\", \"hash\": "
        "\"%s\"}\n",
        minted.key, minted.id, tenant, minted.hash);
    return 0;
  }
  std::cout << "API key (shown once; give it to the tenant, the gateway keeps "
               "only its hash):\n  "
            << minted.key << "\n\nAdd to the keys file under `keys:`:\n"
            << absl::StrFormat(
                   "  - {id: \"%s\", tenant: \"%s\", hash: \"%s\"}\n",
                   minted.id, tenant, minted.hash);
  return 0;
}

}  // namespace voxgate::gateway
