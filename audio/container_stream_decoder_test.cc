// Container streams as browsers send them: the ffmpeg CLI encodes speech-like
// tones to Ogg/Opus and WebM/Opus, and the bytes arrive in small pieces.

#include "audio/container_stream_decoder.h"

#include "audio/decoder.h"
#include "common/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/signal_analysis.h"

namespace voxgate::audio {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::IsOk;
using ::voxgate::testing::StatusIs;
using ::voxgate::testing::ToneAmplitude;
using ::voxgate::testing::ToneWav;
using ::voxgate::testing::Transcode;

struct Case {
  StreamContainer container;
  const char* ffmpeg_args;
  const char* extension;
};

class ContainerStreamTest : public ::testing::TestWithParam<Case> {};

TEST_P(ContainerStreamTest, DecodesPieceByPieceAsTheBytesArrive) {
  // 3 s of a 440 Hz tone at 48 kHz stereo, as a browser would record it.
  const std::string encoded =
      Transcode(ToneWav(440, 3.0, 48000, 2), GetParam().ffmpeg_args,
                GetParam().extension);
  ASSERT_GT(encoded.size(), 4000u);
  ContainerStreamDecoder decoder(GetParam().container);
  std::vector<float> pcm;
  std::size_t at_three_quarters = 0;
  for (std::size_t at = 0; at < encoded.size(); at += 700) {
    ASSERT_THAT(decoder.Push(encoded.substr(at, 700), pcm), IsOk());
    if (at < encoded.size() * 3 / 4) at_three_quarters = pcm.size();
  }
  const std::size_t before_finish = pcm.size();
  ASSERT_THAT(decoder.Finish(pcm), IsOk());

  // Audio came out while the stream was still arriving, not only at the end.
  EXPECT_GT(at_three_quarters, pcm.size() * 4 / 10);
  EXPECT_GT(before_finish, pcm.size() * 8 / 10);
  // The whole stream: 3 s at 16 kHz mono (codec delay within 30 ms), and the
  // same as decoding the finished file at once.
  EXPECT_NEAR(pcm.size() / 16000.0, 3.0, 0.03);
  auto whole = DecodeAudio(encoded, DecodeOptions{});
  ASSERT_THAT(whole.status(), IsOk());
  EXPECT_NEAR(static_cast<double>(pcm.size()),
              static_cast<double>(whole->pcm.samples.size()), 16.0);
  // The tone is still a 440 Hz tone at its level (0.5 in both channels).
  const std::vector<float> middle(pcm.begin() + 8000, pcm.end() - 8000);
  EXPECT_NEAR(ToneAmplitude(middle, 16000, 440), 0.5, 0.05);
}

INSTANTIATE_TEST_SUITE_P(
    Browsers, ContainerStreamTest,
    ::testing::Values(Case{StreamContainer::kOggOpus,
                           "-c:a libopus -page_duration 20000", "ogg"},
                      Case{StreamContainer::kWebmOpus,
                           "-c:a libopus -cluster_time_limit 100", "webm"},
                      Case{StreamContainer::kOggVorbis, "-c:a libvorbis",
                           "ogg"},
                      Case{StreamContainer::kAny, "-c:a libopus", "webm"},
                      Case{StreamContainer::kMp3, "-c:a libmp3lame", "mp3"}));

TEST(ContainerStreamErrorsTest, GarbageIsInvalidArgumentNamingTheContainer) {
  ContainerStreamDecoder decoder(StreamContainer::kWebmOpus);
  std::vector<float> pcm;
  absl::Status status = decoder.Push(std::string(5000, 'x'), pcm);
  if (status.ok()) status = decoder.Finish(pcm);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("not a matroska stream")));
  EXPECT_TRUE(pcm.empty());
}

TEST(ContainerStreamErrorsTest, AContainerWithTheWrongCodecIsRefused) {
  const std::string vorbis =
      Transcode(ToneWav(440, 1.0, 48000, 1), "-c:a libvorbis", "ogg");
  ContainerStreamDecoder decoder(StreamContainer::kOggOpus);
  std::vector<float> pcm;
  absl::Status status = decoder.Push(vorbis, pcm);
  if (status.ok()) status = decoder.Finish(pcm);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("not the declared opus")));
}

TEST(ContainerStreamErrorsTest, DestroyingMidStreamStopsTheDemuxer) {
  const std::string encoded =
      Transcode(ToneWav(440, 2.0, 48000, 1), "-c:a libopus", "webm");
  std::vector<float> pcm;
  {
    ContainerStreamDecoder decoder(StreamContainer::kWebmOpus);
    ASSERT_THAT(decoder.Push(encoded.substr(0, encoded.size() / 2), pcm),
                IsOk());
  }  // the demuxer thread waits for bytes; destruction must not hang
  EXPECT_GT(pcm.size(), 0u);
}

}  // namespace
}  // namespace voxgate::audio
