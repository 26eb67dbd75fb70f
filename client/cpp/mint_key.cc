// voxgate-cli mint-key: a new API key and its keys-file line.

#include <iostream>

#include "absl/strings/str_format.h"
#include "client/cpp/commands.h"
#include "tenancy/api_key.h"

namespace voxgate::cli {

int MintKey(Session& session, const Args& args) {
  const std::string tenant = args.Get("tenant");
  if (!tenancy::IsValidTenantName(tenant) || !args.positional.empty()) {
    std::cerr << "usage error: mint-key --tenant=NAME, the name being 1 to 64 "
                 "of [a-z0-9_.-] as in the keys file\n";
    return kExitUsage;
  }
  const tenancy::MintedKey minted = tenancy::MintKey();
  if (session.json) {
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

}  // namespace voxgate::cli
