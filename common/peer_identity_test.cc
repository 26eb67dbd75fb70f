#include "common/peer_identity.h"

#include "gtest/gtest.h"

namespace voxgate {
namespace {

TEST(ClientCertificateIdentityTest, OneSpiffeIdWinsWhereverItStands) {
  EXPECT_EQ(ClientCertificateIdentity({"https://a", "spiffe://x/ns/a"},
                                      {"a.svc"}, "cn"),
            "spiffe://x/ns/a");
}

TEST(ClientCertificateIdentityTest, SeveralSpiffeIdsMakeTheFirstUriTheIdentity) {
  // gRPC sets no SPIFFE ID for such a certificate; HTTP once took the first
  // SPIFFE URI, so one certificate was two tenants.
  EXPECT_EQ(ClientCertificateIdentity(
                {"https://a", "spiffe://x/ns/a", "spiffe://x/ns/b"}, {}, "cn"),
            "https://a");
}

TEST(ClientCertificateIdentityTest, ThenDnsThenTheCommonName) {
  EXPECT_EQ(ClientCertificateIdentity({}, {"a.svc", "b.svc"}, "cn"), "a.svc");
  EXPECT_EQ(ClientCertificateIdentity({}, {}, "cn"), "cn");
  EXPECT_EQ(ClientCertificateIdentity({}, {}, ""), "");
}

}  // namespace
}  // namespace voxgate
