// Decoding every supported format from memory, made at test time by sox and the
// ffmpeg CLI, and hostile input that must fail cleanly.

#include "audio/decoder.h"

#include <fcntl.h>
#include <unistd.h>

#include <random>

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

struct FormatCase {
  std::string name;
  std::string ffmpeg_args;
  std::string extension;
  std::string container;
  // The codec's frame: the decoded length may differ by up to one.
  double frame_seconds;
};

class DecoderFormatTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(DecoderFormatTest, DecodesToTheRightDurationRateAndTone) {
  const FormatCase& format = GetParam();
  // 2 s of 1 kHz at 48 kHz stereo (Opus's native rate, so the CLI resamples
  // nothing).
  const std::string source = ToneWav(1000, 2.0, 48000, 2);
  const std::string encoded =
      Transcode(source, format.ffmpeg_args, format.extension);
  ASSERT_FALSE(encoded.empty());

  auto decoded = DecodeAudio(encoded, DecodeOptions());
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(
      decoded->source.container.find(format.container) != std::string::npos,
      true)
      << decoded->source.container;
  EXPECT_EQ(decoded->source.channels, 2);
  EXPECT_EQ(decoded->pcm.sample_rate, 16000);
  EXPECT_EQ(decoded->pcm.channels, 1);
  EXPECT_NEAR(decoded->pcm.duration_seconds(), 2.0,
              format.frame_seconds + 1.0 / 16000)
      << format.name;
  // Lossy codecs keep a pure tone's level within a decibel.
  EXPECT_NEAR(ToneAmplitude(decoded->pcm.samples, 16000, 1000), 0.5, 0.06)
      << format.name;
}

INSTANTIATE_TEST_SUITE_P(
    Formats, DecoderFormatTest,
    ::testing::Values(
        FormatCase{"Wav", "-c:a pcm_s16le", "wav", "wav", 0},
        FormatCase{"Mp3", "-c:a libmp3lame -b:a 128k", "mp3", "mp3",
                   1152.0 / 48000},
        FormatCase{"Flac", "-c:a flac", "flac", "flac", 0},
        FormatCase{"OggVorbis", "-c:a libvorbis", "ogg", "ogg", 0.043},
        FormatCase{"OggOpus", "-c:a libopus", "opus", "ogg", 0.02},
        FormatCase{"WebmOpus", "-c:a libopus", "webm", "matroska", 0.02},
        FormatCase{"M4aAac", "-c:a aac -b:a 128k", "m4a", "mov",
                   1024.0 / 48000}),
    [](const ::testing::TestParamInfo<FormatCase>& info) {
      return info.param.name;
    });

struct RawCase {
  std::string name;
  InputFormat format;
  std::string ffmpeg_args;
};

class DecoderRawTest : public ::testing::TestWithParam<RawCase> {};

TEST_P(DecoderRawTest, DecodesRawSamplesWithDeclaredRateAndChannels) {
  const std::string source = ToneWav(1000, 1.5, 8000, 1);
  const std::string raw = Transcode(source, GetParam().ffmpeg_args, "raw");
  ASSERT_FALSE(raw.empty());
  DecodeOptions options;
  options.format = GetParam().format;
  options.input_sample_rate = 8000;
  options.input_channels = 1;
  auto decoded = DecodeAudio(raw, options);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_NEAR(decoded->pcm.duration_seconds(), 1.5, 1.0 / 8000);
  EXPECT_NEAR(ToneAmplitude(decoded->pcm.samples, 16000, 1000), 0.5, 0.03);
}

INSTANTIATE_TEST_SUITE_P(Raw, DecoderRawTest,
                         ::testing::Values(RawCase{"S16le", InputFormat::kS16le,
                                                   "-f s16le -c:a pcm_s16le"},
                                           RawCase{"Mulaw", InputFormat::kMulaw,
                                                   "-f mulaw -c:a pcm_mulaw"},
                                           RawCase{"Alaw", InputFormat::kAlaw,
                                                   "-f alaw -c:a pcm_alaw"}),
                         [](const ::testing::TestParamInfo<RawCase>& info) {
                           return info.param.name;
                         });

TEST(DecoderTest, ResamplingKeepsTheToneAndItsLevel) {
  auto decoded = DecodeAudio(ToneWav(1000, 1.0, 44100, 1), DecodeOptions());
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->pcm.frames(), 16000);
  const double at_tone = ToneAmplitude(decoded->pcm.samples, 16000, 1000);
  EXPECT_NEAR(at_tone, 0.5, 0.01);
  // Nothing leaks to other frequencies.
  EXPECT_LT(ToneAmplitude(decoded->pcm.samples, 16000, 1500), 0.01);
  EXPECT_LT(ToneAmplitude(decoded->pcm.samples, 16000, 3000), 0.01);
}

TEST(DecoderTest, ContentAboveTheNewNyquistDoesNotAlias) {
  // 12 kHz at 48 kHz would fold to 4 kHz at 16 kHz without the anti-alias
  // filter.
  auto decoded = DecodeAudio(ToneWav(12000, 1.0, 48000, 1), DecodeOptions());
  ASSERT_THAT(decoded, IsOk());
  const double alias = ToneAmplitude(decoded->pcm.samples, 16000, 4000);
  EXPECT_LT(voxgate::testing::ToDecibels(alias / 0.5), -60);
}

TEST(DecoderTest, StereoDownmixAveragesTheChannels) {
  // Left: 1 kHz tone; right: silence. The mono mix carries the tone at half
  // level.
  const std::string left = ToneWav(1000, 1.0, 16000, 1);
  const std::string path_left = voxgate::testing::TempPath("l.wav");
  const std::string path_out = voxgate::testing::TempPath("lr.wav");
  voxgate::testing::WriteBytes(path_left, left);
  ASSERT_TRUE(voxgate::testing::RunCommand(
      "sox -M " + path_left + " -n " + path_out + " 2>/dev/null || sox " +
      path_left + " " + path_out + " remix 1 0"));
  auto decoded =
      DecodeAudio(voxgate::testing::ReadBytes(path_out), DecodeOptions());
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->source.channels, 2);
  EXPECT_NEAR(ToneAmplitude(decoded->pcm.samples, 16000, 1000), 0.25, 0.01);
}

TEST(DecoderTest, CanKeepStereoAndOtherRates) {
  DecodeOptions options;
  options.target_sample_rate = 24000;
  options.target_channels = 2;
  auto decoded = DecodeAudio(ToneWav(1000, 1.0, 44100, 2), options);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->pcm.channels, 2);
  EXPECT_EQ(decoded->pcm.frames(), 24000);
}

// Hostile and broken input: always INVALID_ARGUMENT, never a crash.

TEST(DecoderHostileTest, EmptyInput) {
  EXPECT_THAT(DecodeAudio("", DecodeOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("content is empty")));
}

TEST(DecoderHostileTest, RandomBytes) {
  std::mt19937 random(42);
  for (int size : {1, 7, 100, 4096, 100000}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    EXPECT_THAT(DecodeAudio(bytes, DecodeOptions()),
                StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_))
        << size;
  }
}

TEST(DecoderHostileTest, TruncatedFiles) {
  const std::string wav = ToneWav(440, 1.0, 16000, 1);
  EXPECT_THAT(DecodeAudio(wav.substr(0, 30), DecodeOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  const std::string mp3 = Transcode(wav, "-c:a libmp3lame", "mp3");
  // A cut MP3 decodes what is there.
  auto half = DecodeAudio(mp3.substr(0, mp3.size() / 2), DecodeOptions());
  ASSERT_THAT(half, IsOk());
  EXPECT_LT(half->pcm.duration_seconds(), 0.8);
  EXPECT_THAT(DecodeAudio(mp3.substr(0, 10), DecodeOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST(DecoderHostileTest, CorruptMiddleDoesNotCrash) {
  std::string flac =
      Transcode(ToneWav(440, 2.0, 16000, 1), "-c:a flac", "flac");
  std::mt19937 random(7);
  for (std::size_t i = flac.size() / 3; i < flac.size() / 2; ++i) {
    flac[i] = static_cast<char>(random());
  }
  auto decoded = DecodeAudio(flac, DecodeOptions());
  if (decoded.ok()) {
    EXPECT_LE(decoded->pcm.duration_seconds(), 2.1);
  } else {
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(DecoderHostileTest, PlaylistsAreRefused) {
  const std::string hls =
      "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n"
      "#EXT-X-ENDLIST\n";
  EXPECT_THAT(DecodeAudio(hls, DecodeOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a supported audio format")));
  const std::string concat = "ffconcat version 1.0\nfile '/etc/passwd'\n";
  EXPECT_THAT(DecodeAudio(concat, DecodeOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a supported audio format")));
}

TEST(DecoderHostileTest, HugeDeclaredSizeDecodesOnlyWhatIsThere) {
  std::string wav = ToneWav(440, 0.5, 16000, 1);
  // RIFF size and data size claim 4 GiB.
  for (std::size_t offset : {std::size_t{4}, std::size_t{40}}) {
    wav[offset] = wav[offset + 1] = wav[offset + 2] = wav[offset + 3] = '\xff';
  }
  auto decoded = DecodeAudio(wav, DecodeOptions());
  ASSERT_THAT(decoded, IsOk());
  EXPECT_NEAR(decoded->pcm.duration_seconds(), 0.5, 0.001);
}

TEST(DecoderHostileTest, ALongDeclaredDurationIsRefusedBeforeDecoding) {
  // A decompression bomb in miniature: ten minutes of Opus silence in a few
  // hundred kilobytes. The Ogg container states its length; the decoder
  // refuses from that, before decoding anything (the message says
  // "declares", not "decoded audio is longer").
  const std::string opus = voxgate::testing::Transcode(
      voxgate::testing::SilenceWav(600, 16000), "-c:a libopus -b:a 6k", "opus");
  ASSERT_LT(opus.size(), 2u * 1024 * 1024);
  DecodeOptions options;
  options.max_duration = absl::Minutes(2);
  EXPECT_THAT(DecodeAudio(opus, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the file declares 10m of audio, over "
                                 "max_audio_duration 2m")));
  // Within the limit it decodes.
  options.max_duration = absl::Minutes(15);
  auto decoded = DecodeAudio(opus, options);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_NEAR(decoded->pcm.duration_seconds(), 600, 0.1);
}

TEST(DecoderHostileTest, LimitsAreNamed) {
  const std::string wav = ToneWav(440, 2.0, 16000, 1);
  DecodeOptions small_input;
  small_input.max_input_bytes = 1000;
  EXPECT_THAT(DecodeAudio(wav, small_input),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_audio_bytes 1000")));
  DecodeOptions short_audio;
  short_audio.max_duration = absl::Seconds(1);
  EXPECT_THAT(DecodeAudio(wav, short_audio),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("longer than max_audio_duration 1s")));
  DecodeOptions no_time;
  no_time.max_wall_time = absl::ZeroDuration();
  EXPECT_THAT(DecodeAudio(wav, no_time),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wall-time limit")));
  DecodeOptions raw;
  raw.format = InputFormat::kS16le;
  EXPECT_THAT(DecodeAudio(wav, raw),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sample_rate_hertz")));
}

// A spooled upload: an M4A with its index at the end, read from a file in
// steps, gives exactly what decoding it whole from memory gives.
TEST(FileDecoderTest, StepsThroughAFileAsDecodeAudioDoesWhole) {
  const std::string m4a =
      Transcode(ToneWav(440, 12.0, 44100, 2), "-c:a aac -b:a 96k", "m4a");
  ASSERT_EQ(m4a.substr(4, 4), "ftyp");
  ASSERT_NE(m4a.find("moov"), std::string::npos);
  ASSERT_GT(m4a.find("moov"), m4a.find("mdat"));  // the index comes last
  const std::string path = voxgate::testing::TempPath("upload.m4a");
  voxgate::testing::WriteBytes(path, m4a);
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  absl::StatusOr<std::unique_ptr<FileDecoder>> decoder =
      FileDecoder::Open(fd, static_cast<int64_t>(m4a.size()), DecodeOptions());
  ASSERT_THAT(decoder, IsOk());
  EXPECT_EQ((*decoder)->source().container, "mov,mp4,m4a,3gp,3g2,mj2");
  std::vector<float> stepped;
  int steps = 0;
  while (true) {
    const std::size_t before = stepped.size();
    absl::StatusOr<bool> more = (*decoder)->Next(16000, stepped);
    ASSERT_THAT(more, IsOk());
    ++steps;
    if (!*more) break;
    EXPECT_GE(stepped.size() - before, 16000u);
  }
  close(fd);
  EXPECT_GE(steps, 12);
  absl::StatusOr<DecodedAudio> whole = DecodeAudio(m4a, DecodeOptions());
  ASSERT_THAT(whole, IsOk());
  EXPECT_EQ(stepped, whole->pcm.samples);
}

TEST(FileDecoderTest, RefusesWhatDecodeAudioRefuses) {
  const std::string path = voxgate::testing::TempPath("noise.bin");
  voxgate::testing::WriteBytes(path, std::string(4096, '\x5a'));
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_THAT(FileDecoder::Open(fd, 4096, DecodeOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not a supported audio format")));
  DecodeOptions small;
  small.max_input_bytes = 1000;
  EXPECT_THAT(FileDecoder::Open(fd, 4096, small),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_audio_bytes 1000")));
  close(fd);
}

}  // namespace
}  // namespace voxgate::audio
