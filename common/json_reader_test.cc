#include "common/json_reader.h"

#include <cstdint>
#include <limits>

#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::IsOkAndHolds;
using ::voxgate::testing::StatusIs;
using json = nlohmann::json;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

TEST(JsonReaderTest, RefusesAWrongTypeNamingTheField) {
  const json value = {{"flag", 1}, {"name", 2}, {"count", "3"},
                      {"ratio", "x"}, {"inner", true}, {"list", {{"a", 1}}}};
  absl::StatusOr<JsonReader> reader = JsonReader::Object(value, "opts");
  ASSERT_THAT(reader, IsOk());
  EXPECT_THAT(reader->Bool("flag", false),
              StatusIs(kInvalid, HasSubstr("opts.flag: must be a boolean, "
                                           "got number")));
  EXPECT_THAT(reader->String("name"),
              StatusIs(kInvalid, HasSubstr("opts.name: must be a string")));
  EXPECT_THAT(reader->Integer("count"),
              StatusIs(kInvalid, HasSubstr("opts.count: must be an integer")));
  EXPECT_THAT(reader->Number("ratio"),
              StatusIs(kInvalid, HasSubstr("opts.ratio: must be a number")));
  EXPECT_THAT(reader->OptionalObject("inner"),
              StatusIs(kInvalid, HasSubstr("opts.inner: must be an object")));
  EXPECT_THAT(reader->Array("list"),
              StatusIs(kInvalid, HasSubstr("opts.list: must be an array")));
  EXPECT_THAT(JsonReader::Object(json::array(), ""),
              StatusIs(kInvalid, HasSubstr("the body: must be an object")));
}

TEST(JsonReaderTest, TakesNullAndAbsenceAsNotGiven) {
  const json value = {{"strict", nullptr}, {"name", nullptr}};
  absl::StatusOr<JsonReader> reader = JsonReader::Object(value, "");
  ASSERT_THAT(reader, IsOk());
  EXPECT_THAT(reader->Bool("strict", true), IsOkAndHolds(true));
  EXPECT_THAT(reader->String("name", "x"), IsOkAndHolds("x"));
  EXPECT_THAT(reader->String("missing"), IsOkAndHolds(""));
  EXPECT_THAT(reader->Integer("missing"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(reader->Array("name"), IsOkAndHolds(nullptr));
  EXPECT_EQ(reader->Find("strict"), nullptr);
}

TEST(JsonReaderTest, ReadsValuesAndNestedFieldNames) {
  const json value = {{"n", 3}, {"t", 0.5}, {"o", {{"s", "v"}}}};
  absl::StatusOr<JsonReader> reader = JsonReader::Object(value, "");
  ASSERT_THAT(reader, IsOk());
  EXPECT_THAT(reader->Integer("n"), IsOkAndHolds(Optional(3)));
  EXPECT_THAT(reader->Number("t"), IsOkAndHolds(Optional(0.5)));
  absl::StatusOr<std::optional<JsonReader>> inner = reader->OptionalObject("o");
  ASSERT_THAT(inner, IsOk());
  ASSERT_TRUE(inner->has_value());
  EXPECT_EQ((*inner)->Field("s"), "o.s");
  EXPECT_THAT((*inner)->String("s"), IsOkAndHolds("v"));
  EXPECT_EQ(ElementName("messages", 2), "messages[2]");
}

TEST(JsonReaderTest, RefusesIntegersBeyondInt64AndInfiniteNumbers) {
  // (nlohmann's parser refuses 1e999; a tree built in code can hold it.)
  const json value = {{"big", UINT64_MAX},
                      {"huge", std::numeric_limits<double>::infinity()},
                      {"fine", -5}};
  absl::StatusOr<JsonReader> reader = JsonReader::Object(value, "");
  ASSERT_THAT(reader, IsOk());
  EXPECT_THAT(reader->Integer("big"),
              StatusIs(kInvalid, HasSubstr("big: out of range")));
  EXPECT_THAT(reader->Number("huge"),
              StatusIs(kInvalid, HasSubstr("huge: must be a finite number")));
  EXPECT_THAT(reader->Integer("fine"), IsOkAndHolds(Optional(-5)));
}

}  // namespace
}  // namespace voxgate
