#include "common/json_limits.h"

#include <string>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

std::string Nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(InspectJsonTest, TellsValidTooDeepAndNotJsonApart) {
  EXPECT_EQ(InspectJson(R"({"a": [1, {"b": null}]})", 3), JsonShape::kValid);
  EXPECT_EQ(InspectJson(R"({"a": [1, {"b": null}]})", 2), JsonShape::kTooDeep);
  EXPECT_EQ(InspectJson("40", 0), JsonShape::kValid);
  EXPECT_EQ(InspectJson("hotword", 8), JsonShape::kNotJson);
  EXPECT_EQ(InspectJson("[1, 2", 8), JsonShape::kNotJson);
}

TEST(InspectJsonTest, AHundredThousandLevelsAreRefusedWithoutRecursing) {
  // Built into a tree and serialized, this overflows the stack.
  EXPECT_EQ(InspectJson(Nested(100000), 32), JsonShape::kTooDeep);
  // Unbalanced too: it stops at the limit, never reading to the end.
  EXPECT_EQ(InspectJson(std::string(1000000, '['), 32), JsonShape::kTooDeep);
  EXPECT_EQ(InspectJson(Nested(32), 32), JsonShape::kValid);
}

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;

JsonLimits Small() {
  JsonLimits limits;
  limits.max_bytes = 1000;
  limits.max_depth = 4;
  limits.max_elements = 10;
  limits.max_string_bytes = 8;
  return limits;
}

TEST(CheckJsonTest, NamesEachLimitBroken) {
  EXPECT_THAT(CheckJson(R"({"a": [1, 2, "abc"]})", "body", Small()), IsOk());
  EXPECT_THAT(CheckJson(std::string(1001, ' '), "body", Small()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("body: over 1000 bytes")));
  EXPECT_THAT(CheckJson(Nested(5), "body", Small()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("body: nested deeper than 4 levels")));
  EXPECT_THAT(CheckJson("[{},{},{},{},{},{},{},{},{},{}]", "body", Small()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 10 values")));
  EXPECT_THAT(CheckJson(R"(["123456789"])", "body", Small()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a string over 8 bytes")));
  EXPECT_THAT(CheckJson(R"({"123456789": 1})", "body", Small()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a string over 8 bytes")));
  EXPECT_THAT(CheckJson("[1,", "body", Small()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("body: not a JSON document")));
  EXPECT_THAT(CheckJson("\"\xff\"", "body", Small()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a JSON document")));
}

TEST(ParseCallerJsonTest, BuildsNoTreeForADocumentOverItsLimits) {
  // 31 MiB of [{},{},...] became ~900 MiB of tree before the check moved
  // ahead of the parse; here the count stops it at the 11th value.
  std::string many = "[";
  for (int i = 0; i < 100000; ++i) many += "{},";
  many += "{}]";
  JsonLimits limits = Small();
  limits.max_bytes = many.size();
  EXPECT_THAT(ParseCallerJson(many, "body", limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 10 values")));
  absl::StatusOr<nlohmann::json> tree =
      ParseCallerJson(R"({"a": [true]})", "body", Small());
  ASSERT_THAT(tree, IsOk());
  EXPECT_TRUE((*tree)["a"][0].get<bool>());
}

TEST(ValidUtf8Test, ReplacesEachInvalidSequenceAndKeepsValidText) {
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa4"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa4");
  EXPECT_EQ(ValidUtf8("a\xff" "b"), "a\xef\xbf\xbd" "b");
  // Overlong, surrogate, past U+10FFFF, truncated.
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ValidUtf8("\xf4\x90\x80\x80").substr(0, 3), "\xef\xbf\xbd");
  EXPECT_EQ(ValidUtf8("x\xe2\x82"), "x\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(DumpJsonTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  const nlohmann::json value = {{"message", "format \"\xff\""}};
  EXPECT_THROW((void)value.dump(), nlohmann::json::type_error);
  EXPECT_EQ(DumpJson(value), "{\"message\":\"format \\\"\xef\xbf\xbd\\\"\"}");
}

}  // namespace
}  // namespace voxgate
