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
            "uri:https://a");
}

TEST(ClientCertificateIdentityTest, ThenDnsThenTheCommonNameEachTyped) {
  EXPECT_EQ(ClientCertificateIdentity({}, {"a.svc", "b.svc"}, "cn"),
            "dns:a.svc");
  EXPECT_EQ(ClientCertificateIdentity({}, {}, "cn"), "cn:cn");
  EXPECT_EQ(ClientCertificateIdentity({}, {}, ""), "");
}

// A name of one kind never passes for another: a certificate whose CN is
// "api.example" is not the one whose DNS SAN is.
TEST(ClientCertificateIdentityTest, KindsNeverMatchEachOther) {
  EXPECT_NE(ClientCertificateIdentity({}, {}, "api.example"),
            ClientCertificateIdentity({}, {"api.example"}, ""));
  EXPECT_NE(ClientCertificateIdentity({"api.example"}, {}, ""),
            ClientCertificateIdentity({}, {"api.example"}, ""));
}

TEST(IsTypedIdentityTest, AKeysFileMustSayTheKind) {
  for (const char* typed : {"spiffe://td/ns/a", "uri:https://a", "dns:a.svc",
                            "cn:web"}) {
    EXPECT_TRUE(IsTypedIdentity(typed)) << typed;
  }
  for (const char* untyped : {"a.svc", "web", "dns:", "spiffe://", ""}) {
    EXPECT_FALSE(IsTypedIdentity(untyped)) << untyped;
  }
}

}  // namespace
}  // namespace voxgate
