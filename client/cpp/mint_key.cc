// voxgate-cli mint-key: a new API key and its keys-file line.

#include <algorithm>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "client/cpp/commands.h"
#include "tenancy/api_key.h"

namespace voxgate::cli {

int MintKey(Session& session, const Args& args) {
  const std::string tenant = args.Get("tenant");
  const bool valid = !tenant.empty() && tenant.size() <= 64 &&
                     std::all_of(tenant.begin(), tenant.end(), [](char c) {
                       return absl::ascii_islower(c) ||
                              absl::ascii_isdigit(c) || c == '_' || c == '.' ||
                              c == '-';
                     });
  if (!valid || !args.positional.empty()) {
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
