#include "operations/stitcher.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voxgate::operations {
namespace {

using ::testing::ElementsAre;

ChunkTranscript Chunk(double start, double core, double end, std::string text) {
  ChunkTranscript chunk;
  chunk.start_seconds = start;
  chunk.core_start_seconds = core;
  chunk.end_seconds = end;
  chunk.transcription.text = std::move(text);
  return chunk;
}

TEST(StitcherTest, JoinsTextAndRemovesWordsTheOverlapRepeats) {
  const StitchedTranscript stitched =
      Stitch({Chunk(0, 0, 10, "the quick brown fox jumps"),
              Chunk(9.5, 10, 20, "Jumps, over the lazy dog."),
              Chunk(19.5, 20, 25, "and sleeps")});
  EXPECT_EQ(stitched.text,
            "the quick brown fox jumps over the lazy dog. and sleeps");
  ASSERT_EQ(stitched.segments.size(), 3u);
  EXPECT_EQ(stitched.segments[1].start_seconds, 10);
  EXPECT_EQ(stitched.segments[1].end_seconds, 20);
  EXPECT_EQ(stitched.segments[1].text, "over the lazy dog.");
}

TEST(StitcherTest, TimedWordsInTheOverlapAreDroppedAndTheRestShifted) {
  ChunkTranscript first = Chunk(0, 0, 10, "");
  first.transcription.words = {{"hello", 8.0, 8.5, 0.9f},
                               {"there", 9.6, 9.9, 0.8f}};
  ChunkTranscript second = Chunk(9.5, 10, 15, "");
  second.transcription.words = {{"there", 0.1, 0.4, 0.7f},
                                {"friend", 0.6, 1.0, 0.9f}};
  const StitchedTranscript stitched = Stitch({first, second});
  EXPECT_EQ(stitched.text, "hello there friend");
  ASSERT_EQ(stitched.words.size(), 3u);
  EXPECT_DOUBLE_EQ(stitched.words[2].start_seconds, 10.1);
  EXPECT_DOUBLE_EQ(stitched.words[2].end_seconds, 10.5);
}

TEST(StitcherTest, BackendSegmentsAreShiftedToTheAudioTimeline) {
  ChunkTranscript chunk = Chunk(29.5, 30, 60, "a b");
  chunk.transcription.segments = {{0.0, 0.4, "a", 0, 0},
                                  {1.0, 2.0, " b ", 0, 0}};
  const StitchedTranscript stitched = Stitch({Chunk(0, 0, 30, "x"), chunk});
  ASSERT_EQ(stitched.segments.size(),
            2u);  // the one inside the overlap is dropped
  EXPECT_DOUBLE_EQ(stitched.segments[1].start_seconds, 30.5);
  EXPECT_DOUBLE_EQ(stitched.segments[1].end_seconds, 31.5);
  EXPECT_EQ(stitched.segments[1].text, "b");
}

TEST(StitcherTest, SubtitlesFollowTheFormats) {
  const std::vector<upstream::Segment> segments = {
      {0, 1.5, "Hello.", 0, 0}, {3661.25, 3662, "Bye.", 0, 0}};
  EXPECT_EQ(ToSrt(segments),
            "1\n00:00:00,000 --> 00:00:01,500\nHello.\n\n"
            "2\n01:01:01,250 --> 01:01:02,000\nBye.\n\n");
  EXPECT_EQ(ToVtt(segments),
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello.\n\n"
            "01:01:01.250 --> 01:01:02.000\nBye.\n\n");
}

}  // namespace
}  // namespace voxgate::operations
