// Which addresses AudioInput.uri may reach by default.

#include "operations/audio_fetcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::operations {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

absl::Status Check(const char* text) {
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    ADD_FAILURE() << "not an address: " << text;
  }
  return CheckPublicAddress(reinterpret_cast<const sockaddr&>(storage));
}

TEST(AllowedHostChainTest, AnAllowedHostIsWaivedOnlyFromTheStart) {
  AllowedHostChain direct({"store.internal", "10.0.0.5"});
  EXPECT_TRUE(direct.Waive("store.internal"));
  EXPECT_TRUE(direct.Waive("10.0.0.5"));  // allowed to allowed: still waived
  EXPECT_FALSE(direct.Waive("cdn.example"));
  // Back to the store after a hop that was checked: checked too.
  EXPECT_FALSE(direct.Waive("store.internal"));

  // A public host redirecting into the internal store gets no waiver.
  AllowedHostChain redirected({"store.internal"});
  EXPECT_FALSE(redirected.Waive("public.example"));
  EXPECT_FALSE(redirected.Waive("store.internal"));
}

TEST(CheckPublicAddressTest, PublicAddressesPass) {
  for (const char* address :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "169.255.0.1",
        "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
        "2002:808:808::1", "100:0:0:1::1"}) {
    EXPECT_THAT(Check(address), IsOk()) << address;
  }
}

TEST(CheckPublicAddressTest, EveryNonPublicRangeIsRefusedByName) {
  const std::pair<const char*, const char*> cases[] = {
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"10.1.2.3", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "link-local"},  // cloud metadata
      {"100.64.0.1", "carrier-grade NAT"},
      {"0.0.0.0", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.255", "reserved"},
      {"198.18.0.1", "benchmarking"},
      {"192.0.2.1", "documentation"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"fe80::1", "link-local"},
      {"fd00:ec2::254", "private"},  // the IPv6 cloud metadata address
      {"fc00::1", "private"},
      {"ff02::1", "multicast"},
      {"2001:db8::1", "documentation"},
      // IPv4 inside IPv6 is judged as IPv4.
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "link-local"},
      {"64:ff9b::a00:1", "private"},
      // Issue 27's residue: IPv4-compatible, local-use NAT64, site-local,
      // 6to4 around a private address, discard-only.
      {"::7f00:1", "loopback"},
      {"::a9fe:a9fe", "link-local"},
      {"64:ff9b:1::a00:1", "local-use NAT64"},
      {"fec0::1", "site-local"},
      {"2002:a00:1::1", "private"},
      {"2002:7f00:1::", "loopback"},
      {"100::1", "discard-only"},
  };
  for (const auto& [address, kind] : cases) {
    EXPECT_THAT(Check(address),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(kind)))
        << address;
  }
}

}  // namespace
}  // namespace voxgate::operations
