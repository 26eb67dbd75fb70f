#include "upstream/sse_parser.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::upstream {
namespace {

using ::testing::ElementsAre;
using ::testing::FieldsAre;

std::vector<SseEvent> ParseInPieces(absl::string_view stream,
                                    const std::vector<std::size_t>& cuts) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& event) { events.push_back(event); });
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    parser.Feed(stream.substr(start, cut - start));
    start = cut;
  }
  parser.Feed(stream.substr(start));
  return events;
}

// Covers the shapes OpenAI, vLLM and llama-server emit, plus the spec's
// corners.
constexpr absl::string_view kStream =
    "\xEF\xBB\xBF: keep-alive comment\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
    "event: transcript.text.delta\r\n"
    "data: {\"delta\":\"lo\"}\r\n\r\n"
    "id: 7\n"
    "data: line one\n"
    "data:line two\n"
    "retry: 1000\n"
    "unknown: x\n\n"
    "event: ignored-without-data\n\n"
    "data\n\n"
    "data: [DONE]\r\r";

std::vector<SseEvent> Expected() { return ParseInPieces(kStream, {}); }

MATCHER_P3(EventIs, type, data, id, "") {
  return arg.type == type && arg.data == data && arg.id == id;
}

TEST(SseParserTest, ParsesEveryFieldKind) {
  EXPECT_THAT(
      Expected(),
      ElementsAre(
          EventIs("message",
                  "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}", ""),
          EventIs("transcript.text.delta", "{\"delta\":\"lo\"}", ""),
          EventIs("message", "line one\nline two", "7"),
          EventIs("message", "", "7"), EventIs("message", "[DONE]", "7")));
}

TEST(SseParserTest, SameEventsWhenSplitAtEveryByteBoundary) {
  const std::vector<SseEvent> expected = Expected();
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    const std::vector<SseEvent> events = ParseInPieces(kStream, {cut});
    ASSERT_EQ(events.size(), expected.size()) << "cut at " << cut;
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].type, expected[i].type) << "cut at " << cut;
      EXPECT_EQ(events[i].data, expected[i].data) << "cut at " << cut;
      EXPECT_EQ(events[i].id, expected[i].id) << "cut at " << cut;
    }
  }
}

TEST(SseParserTest, SameEventsFedOneByteAtATime) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < kStream.size(); ++i) cuts.push_back(i);
  const std::vector<SseEvent> events = ParseInPieces(kStream, cuts);
  ASSERT_EQ(events.size(), Expected().size());
  EXPECT_EQ(events[2].data, "line one\nline two");
}

TEST(SseParserTest, HoldsAnUnfinishedEventUntilItsBlankLine) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& event) { events.push_back(event); });
  parser.Feed("data: partial");
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(parser.buffered_bytes(), 13u);
  parser.Feed("\n");
  EXPECT_TRUE(events.empty());
  parser.Feed("\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "partial");
}

}  // namespace
}  // namespace voxgate::upstream
