#include "common/json_limits.h"

#include <string>

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

}  // namespace
}  // namespace voxgate
