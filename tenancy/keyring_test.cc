#include "tenancy/keyring.h"

#include "absl/strings/str_cat.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tenancy/api_key.h"

namespace voxgate::tenancy {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

std::string KeysYaml(const MintedKey& key, const std::string& extra = "") {
  return absl::StrCat(R"(
tenants:
  - name: search
    labels: {team: search}
    methods: [Chat, ListModels]
    models: [llama3]
    identities: ["spiffe://cluster.local/ns/search/sa/web"]
  - name: ops
keys:
  - {id: ")",
                      key.id, R"(", tenant: search, hash: ")", key.hash, R"("}
)",
                      extra);
}

TEST(KeyRingTest, FindsTheTenantOfAKeyOrOfAnIdentity) {
  const MintedKey key = MintKey();
  auto ring = KeyRing::Parse(KeysYaml(key));
  ASSERT_THAT(ring, IsOk());
  const TenantPolicy* tenant = (*ring)->FindByKey(key.key);
  ASSERT_NE(tenant, nullptr);
  EXPECT_EQ(tenant->name(), "search");
  EXPECT_EQ((*ring)->FindByIdentity("spiffe://cluster.local/ns/search/sa/web"),
            tenant);
  EXPECT_EQ((*ring)->FindByIdentity("spiffe://other"), nullptr);
  // Same id, another secret: unknown.
  std::string forged = key.key;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ((*ring)->FindByKey(forged), nullptr);
  EXPECT_EQ((*ring)->FindByKey(MintKey().key), nullptr);
}

TEST(KeyRingTest, PermissionsNameTheMethodOrModel) {
  const MintedKey key = MintKey();
  auto ring = KeyRing::Parse(KeysYaml(key));
  ASSERT_THAT(ring, IsOk());
  const TenantPolicy& search = *(*ring)->FindByKey(key.key);
  EXPECT_THAT(search.AllowsMethod("Chat"), IsOk());
  EXPECT_THAT(search.AllowsMethod("Transcribe"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("may not call Transcribe")));
  EXPECT_THAT(search.AllowsModel("llama3"), IsOk());
  EXPECT_THAT(search.AllowsModel("gpt-4o"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("model \"gpt-4o\"")));
  EXPECT_THAT(
      search.AllowsModel(""),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("\"default\"")));
  // No lists: every method but Metrics, every model.
  const TenantPolicy& ops = *(*ring)->tenants()[1];
  EXPECT_THAT(ops.AllowsMethod("Transcribe"), IsOk());
  EXPECT_THAT(ops.AllowsModel("anything"), IsOk());
  EXPECT_THAT(
      ops.AllowsMethod("Metrics"),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("Metrics")));
}

TEST(KeyRingTest, MistakesAreNamedByTheirPath) {
  const MintedKey key = MintKey();
  EXPECT_THAT(
      KeyRing::Parse(KeysYaml(key,
                              "  - {id: abc, tenant: ops, "
                              "hash: x}\n")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keys[1].hash")));
  EXPECT_THAT(
      KeyRing::Parse(absl::StrCat("keys:\n  - {id: ", key.id,
                                  ", tenant: nobody, hash: \"", key.hash,
                                  "\"}\n")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("keys[0].tenant: no tenant named \"nobody\"")));
  EXPECT_THAT(KeyRing::Parse("tenants:\n  - {name: a, methods: [Chatt]}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tenants[0].methods[0]")));
  EXPECT_THAT(
      KeyRing::Parse("tenants:\n  - {name: a, limitz: {}}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limitz")));
  EXPECT_THAT(KeyRing::Parse("tenants:\n  - {name: A B}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tenants[0].name")));
  // An identity says which name of the certificate it is.
  EXPECT_THAT(
      KeyRing::Parse("tenants:\n  - {name: a, identities: [web.svc]}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("tenants[0].identities[0]: say which name")));
  EXPECT_THAT(KeyRing::Parse("tenants:\n  - {name: a, identities: "
                             "[\"dns:web.svc\", \"cn:web\"]}\n"),
              IsOk());
}

}  // namespace
}  // namespace voxgate::tenancy
