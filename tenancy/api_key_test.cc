#include "tenancy/api_key.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::tenancy {
namespace {

TEST(ApiKeyTest, AMintedKeyMatchesItsHashAndNoOtherSecretDoes) {
  const MintedKey minted = MintKey();
  const auto parsed = ParseKey(minted.key);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->id, minted.id);
  EXPECT_TRUE(ValidateHash(minted.hash).ok());
  EXPECT_TRUE(SecretMatches(parsed->secret, minted.hash));
  std::string wrong(parsed->secret);
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  EXPECT_FALSE(SecretMatches(wrong, minted.hash));
  // The stored hash holds neither the secret nor the key.
  EXPECT_EQ(minted.hash.find(std::string(parsed->secret)), std::string::npos);
}

TEST(ApiKeyTest, TwoKeysDifferInIdSecretAndSalt) {
  const MintedKey a = MintKey();
  const MintedKey b = MintKey();
  EXPECT_NE(a.key, b.key);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.hash.substr(0, 40), b.hash.substr(0, 40));
}

TEST(ApiKeyTest, MisshapenKeysAndHashesAreRefused) {
  EXPECT_FALSE(ParseKey("sk-not-ours").has_value());
  EXPECT_FALSE(ParseKey("vxg_0123456789ab_tooshort").has_value());
  EXPECT_FALSE(
      ParseKey("vxg_0123456789AB_" + std::string(64, 'a')).has_value());
  EXPECT_TRUE(ParseKey("vxg_0123456789ab_" + std::string(64, 'a')).has_value());
  EXPECT_FALSE(ValidateHash("md5:00:11").ok());
  EXPECT_FALSE(ValidateHash("sha256:" + std::string(32, '0')).ok());
}

}  // namespace
}  // namespace voxgate::tenancy
