// Loudness, segmentation, endpointing and WAV encoding, on
// audio made at test time and measured by independent tools where one exists
// (the ffmpeg CLI's ebur128 filter for loudness).

#include <algorithm>
#include <cmath>
#include <random>
#include <regex>

#include "audio/decoder.h"
#include "audio/endpointer.h"
#include "audio/loudness.h"
#include "audio/preprocess.h"
#include "audio/segmenter.h"
#include "audio/true_peak.h"
#include "audio/vad.h"
#include "audio/wav.h"
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

PcmAudio Decode(const std::string& bytes) {
  auto decoded = DecodeAudio(bytes, DecodeOptions());
  EXPECT_THAT(decoded, IsOk());
  return decoded.ok() ? decoded->pcm : PcmAudio();
}

// Integrated loudness and true peak as the ffmpeg CLI's ebur128 filter reports
// them.
struct CliLoudness {
  double integrated = 0;
  double true_peak = 0;
};

CliLoudness MeasureWithCli(const std::string& wav) {
  const std::string in = voxgate::testing::TempPath("measure.wav");
  const std::string report = voxgate::testing::TempPath("report.txt");
  voxgate::testing::WriteBytes(in, wav);
  EXPECT_EQ(std::system(("ffmpeg -nostdin -hide_banner -nostats -i " + in +
                         " -af ebur128=peak=true -f null - 2>" + report)
                            .c_str()),
            0);
  const std::string text = voxgate::testing::ReadBytes(report);
  // The summary comes last; per-frame lines before it carry running values.
  auto last = [&text](const std::regex& pattern) {
    double value = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern);
         it != std::sregex_iterator(); ++it) {
      value = std::stod((*it)[1]);
    }
    return value;
  };
  CliLoudness result;
  result.integrated = last(std::regex(R"(I:\s+(-?[0-9.]+) LUFS)"));
  result.true_peak = last(std::regex(R"(Peak:\s+(-?[0-9.]+) dBFS)"));
  EXPECT_NE(text.find("Summary:"), std::string::npos) << text;
  return result;
}

std::string Sentence(int i) {
  static const char* kSentences[] = {
      "The quick brown fox jumps over the lazy dog.",
      "Please call Stella and ask her to bring these things.",
      "We also need a small plastic snake and a big toy frog.",
      "She can scoop these things into three red bags.",
  };
  return voxgate::testing::SpeechWav(kSentences[i % 4]);
}

TEST(LoudnessTest, QuietAndLoudSpeechLandWithinOneLuOfTheTarget) {
  const std::string speech = Sentence(0);
  for (double volume : {0.05, 0.3, 1.0}) {
    const std::string path = voxgate::testing::TempPath("v.wav");
    voxgate::testing::WriteBytes(path, speech);
    const std::string scaled_path = voxgate::testing::TempPath("scaled.wav");
    ASSERT_TRUE(voxgate::testing::RunCommand(
        "sox -v " + std::to_string(volume) + " " + path + " " + scaled_path));
    PreprocessOptions options;
    options.loudness.target_lufs = -23;
    auto processed =
        Preprocess(voxgate::testing::ReadBytes(scaled_path), options);
    ASSERT_THAT(processed, IsOk());
    const CliLoudness measured = MeasureWithCli(EncodeWav(processed->pcm));
    EXPECT_NEAR(measured.integrated, -23, 1.0) << "volume " << volume;
    EXPECT_LE(measured.true_peak, -1.5 + 0.3) << "volume " << volume;
  }
}

TEST(LoudnessTest, TruePeakCeilingLimitsTheGain) {
  PcmAudio audio = Decode(Sentence(1));
  NormalizeOptions options;
  options.target_lufs = -6;  // unreachable without clipping
  auto result = NormalizeLoudness(audio, options);
  ASSERT_THAT(result, IsOk());
  const CliLoudness measured = MeasureWithCli(EncodeWav(audio));
  EXPECT_LT(measured.integrated, -6 - 1);
  EXPECT_NEAR(measured.true_peak, -1.5, 0.5);
}

TEST(TruePeakTest, AgreesWithTheFullOversamplingOfLibebur128) {
  // Speech, and the classic inter-sample over: a sine at a quarter of the rate,
  // sampled 45 degrees off its crests (samples at 0.707 of a peak of 1.0).
  PcmAudio speech = Decode(Sentence(2));
  PcmAudio over;
  over.sample_rate = 16000;
  for (int i = 0; i < 16000; ++i) {
    over.samples.push_back(
        static_cast<float>(0.5 * std::sin(M_PI / 2 * i + M_PI / 4)));
  }
  for (const PcmAudio* audio : {&speech, &over}) {
    auto full = MeasureLoudness(*audio);
    ASSERT_THAT(full, IsOk());
    EXPECT_NEAR(EstimateTruePeakDbtp(*audio), full->true_peak_dbtp, 0.25);
  }
  // The sine's true peak is 3 dB over its samples.
  EXPECT_NEAR(EstimateTruePeakDbtp(over), voxgate::testing::ToDecibels(0.5),
              0.25);
}

TEST(LoudnessTest, SilenceIsLeftAlone) {
  PcmAudio audio = Decode(voxgate::testing::SilenceWav(1.0, 16000));
  auto result = NormalizeLoudness(audio, NormalizeOptions());
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->gain_db, 0);
  EXPECT_FALSE(std::isfinite(result->before.integrated_lufs));
}

// Speech sentences separated by pauses, and where the pauses are.
struct SpokenTimeline {
  PcmAudio audio;
  std::vector<std::pair<double, double>> pauses;  // seconds
};

SpokenTimeline SpeechWithPauses(int sentences, double pause_seconds) {
  std::vector<std::string> parts;
  SpokenTimeline timeline;
  double position = 0;
  for (int i = 0; i < sentences; ++i) {
    const std::string speech = Sentence(i);
    parts.push_back(speech);
    position += Decode(speech).duration_seconds();
    if (i + 1 < sentences) {
      parts.push_back(voxgate::testing::SilenceWav(pause_seconds, 16000));
      timeline.pauses.push_back({position, position + pause_seconds});
      position += pause_seconds;
    }
  }
  timeline.audio = Decode(voxgate::testing::ConcatWav(parts));
  return timeline;
}

TEST(SegmenterTest, CutsInsidePausesWithinTheMaximumAndTilesTheAudio) {
  const SpokenTimeline timeline = SpeechWithPauses(12, 0.8);
  SegmentOptions options;
  options.max_chunk_seconds = 10;
  options.overlap_seconds = 0.5;
  const std::vector<Chunk> chunks = SegmentAudio(timeline.audio, options);
  ASSERT_GE(chunks.size(), 3u);
  int64_t covered = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& chunk = chunks[i];
    EXPECT_LE(chunk.end_frame - chunk.start_frame, 10 * 16000) << i;
    EXPECT_EQ(chunk.core_start_frame, covered) << i;
    EXPECT_EQ(chunk.start_frame, i == 0 ? 0 : chunk.core_start_frame - 8000)
        << i;
    covered = chunk.end_frame;
    if (i + 1 == chunks.size()) break;
    // Every cut falls inside one of the inserted pauses.
    const double cut = chunk.end_frame / 16000.0;
    bool in_pause = false;
    for (const auto& [begin, end] : timeline.pauses) {
      in_pause |= cut >= begin && cut <= end;
    }
    EXPECT_TRUE(in_pause) << "cut " << i << " at " << cut << " s";
  }
  EXPECT_EQ(covered, timeline.audio.frames());
}

TEST(SegmenterTest, WithoutSilenceSplittingCutsAtTheLimit) {
  PcmAudio audio = Decode(voxgate::testing::ToneWav(300, 25, 16000, 1));
  SegmentOptions options;
  options.max_chunk_seconds = 10;
  options.overlap_seconds = 1;
  options.split_on_silence = false;
  const std::vector<Chunk> chunks = SegmentAudio(audio, options);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].end_frame, 160000);
  EXPECT_EQ(chunks[1].start_frame, 144000);
  EXPECT_EQ(chunks[1].end_frame, 304000);
  EXPECT_EQ(chunks[2].end_frame, 400000);
}

TEST(SegmenterTest, ShortAudioIsOneChunk) {
  PcmAudio audio = Decode(voxgate::testing::ToneWav(300, 3, 16000, 1));
  const std::vector<Chunk> chunks = SegmentAudio(audio, SegmentOptions());
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].end_frame, audio.frames());
}

// Feeds `audio` to a StreamSegmenter in pieces of random length (up to three
// seconds), as decoded uploads arrive.
std::vector<StreamChunk> SegmentInPieces(const PcmAudio& audio,
                                         const SegmentOptions& options) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int64_t> piece(1, 3 * 16000);
  StreamSegmenter segmenter(16000, options);
  std::vector<StreamChunk> chunks;
  for (int64_t at = 0; at < audio.frames();) {
    const int64_t end = std::min(audio.frames(), at + piece(random));
    std::vector<float> samples(audio.samples.begin() + at,
                               audio.samples.begin() + end);
    for (StreamChunk& chunk : segmenter.Push(samples))
      chunks.push_back(std::move(chunk));
    at = end;
  }
  EXPECT_EQ(segmenter.frames_seen(), audio.frames());
  for (StreamChunk& chunk : segmenter.Finish())
    chunks.push_back(std::move(chunk));
  return chunks;
}

TEST(StreamSegmenterTest, CutsPiecesWhereTheWholeFileIsCut) {
  const SpokenTimeline timeline = SpeechWithPauses(12, 0.8);
  SegmentOptions options;
  options.max_chunk_seconds = 10;
  options.overlap_seconds = 0.5;
  const std::vector<Chunk> whole = SegmentAudio(timeline.audio, options);
  const std::vector<StreamChunk> streamed =
      SegmentInPieces(timeline.audio, options);
  ASSERT_EQ(streamed.size(), whole.size());
  int64_t covered = 0;
  for (std::size_t i = 0; i < streamed.size(); ++i) {
    const Chunk& chunk = streamed[i].frames;
    EXPECT_EQ(chunk.core_start_frame, covered) << i;
    EXPECT_EQ(chunk.start_frame, i == 0 ? 0 : chunk.core_start_frame - 8000)
        << i;
    EXPECT_LE(chunk.end_frame - chunk.start_frame, 10 * 16000) << i;
    // The analysis frames start where the held audio does, not at 0: a cut
    // may move within the same pause by up to a frame.
    EXPECT_NEAR(chunk.end_frame, whole[i].end_frame, 320) << i;
    // The chunk carries exactly its stretch of the audio.
    ASSERT_EQ(streamed[i].samples.size(),
              static_cast<std::size_t>(chunk.end_frame - chunk.start_frame));
    EXPECT_TRUE(std::equal(streamed[i].samples.begin(),
                           streamed[i].samples.end(),
                           timeline.audio.samples.begin() + chunk.start_frame))
        << i;
    covered = chunk.end_frame;
  }
  EXPECT_EQ(covered, timeline.audio.frames());
}

TEST(StreamSegmenterTest, WithoutSilenceSplittingCutsAtTheLimit) {
  PcmAudio audio = Decode(voxgate::testing::ToneWav(300, 25, 16000, 1));
  SegmentOptions options;
  options.max_chunk_seconds = 10;
  options.overlap_seconds = 1;
  options.split_on_silence = false;
  const std::vector<StreamChunk> chunks = SegmentInPieces(audio, options);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].frames.end_frame, 160000);
  EXPECT_EQ(chunks[1].frames.start_frame, 144000);
  EXPECT_EQ(chunks[1].frames.end_frame, 304000);
  EXPECT_EQ(chunks[2].frames.end_frame, 400000);
}

// Transcribe decodes stereo output (target_channel_count 2) chunk by chunk
// too: frames, not samples, are cut, and channels stay interleaved in order.
TEST(StreamSegmenterTest, CutsInterleavedStereoByFrames) {
  const SpokenTimeline timeline = SpeechWithPauses(12, 0.8);
  PcmAudio stereo;
  stereo.channels = 2;
  for (float sample : timeline.audio.samples) {
    // The mix the cuts are chosen on is the mono timeline, 6 dB down.
    stereo.samples.push_back(sample);
    stereo.samples.push_back(0);
  }
  SegmentOptions options;
  options.max_chunk_seconds = 10;
  options.overlap_seconds = 0.5;
  const std::vector<Chunk> whole = SegmentAudio(timeline.audio, options);
  StreamSegmenter segmenter(16000, options, 2);
  std::vector<StreamChunk> chunks;
  for (std::size_t at = 0; at < stereo.samples.size(); at += 2 * 7001) {
    const std::size_t end = std::min(stereo.samples.size(), at + 2 * 7001);
    for (StreamChunk& chunk : segmenter.Push(std::vector<float>(
             stereo.samples.begin() + at, stereo.samples.begin() + end))) {
      chunks.push_back(std::move(chunk));
    }
  }
  for (StreamChunk& chunk : segmenter.Finish())
    chunks.push_back(std::move(chunk));
  EXPECT_EQ(segmenter.frames_seen(), timeline.audio.frames());
  ASSERT_EQ(chunks.size(), whole.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& frames = chunks[i].frames;
    EXPECT_NEAR(frames.end_frame, whole[i].end_frame, 320) << i;
    ASSERT_EQ(chunks[i].samples.size(),
              static_cast<std::size_t>(2 * (frames.end_frame -
                                            frames.start_frame)));
    EXPECT_TRUE(std::equal(chunks[i].samples.begin(), chunks[i].samples.end(),
                           stereo.samples.begin() + 2 * frames.start_frame))
        << i;
  }
}

TEST(StreamSegmenterTest, NoAudioIsNoChunk) {
  StreamSegmenter segmenter(16000, SegmentOptions());
  EXPECT_TRUE(segmenter.Push({}).empty());
  EXPECT_TRUE(segmenter.Finish().empty());
}

// Where the source is loud: [start, end) seconds of each stretch of speech.
std::vector<std::pair<double, double>> LoudStretches(const PcmAudio& audio) {
  const std::vector<double> energies = FrameEnergiesDbfs(audio.samples, 160);
  std::vector<std::pair<double, double>> stretches;
  int64_t last_loud = -1000;
  for (int64_t f = 0; f < static_cast<int64_t>(energies.size()); ++f) {
    if (energies[f] < -45) continue;
    if (f - last_loud > 40)
      stretches.push_back({f * 0.01, 0});  // 400 ms of quiet
    stretches.back().second = (f + 1) * 0.01;
    last_loud = f;
  }
  return stretches;
}

std::vector<EndpointEvent> FeedInRandomPieces(
    Endpointer& endpointer, const std::vector<float>& samples) {
  std::mt19937 random(3);
  std::vector<EndpointEvent> events;
  std::size_t position = 0;
  while (position < samples.size()) {
    const std::size_t take =
        std::min<std::size_t>(samples.size() - position, 1 + random() % 3000);
    for (EndpointEvent& event : endpointer.Push(
             absl::MakeConstSpan(samples).subspan(position, take))) {
      events.push_back(std::move(event));
    }
    position += take;
  }
  for (EndpointEvent& event : endpointer.Flush())
    events.push_back(std::move(event));
  return events;
}

TEST(EndpointerTest, FindsEachUtteranceWithinATenthOfASecond) {
  const SpokenTimeline timeline = SpeechWithPauses(3, 1.2);
  const auto truth = LoudStretches(timeline.audio);
  ASSERT_EQ(truth.size(), 3u);
  Endpointer endpointer(EndpointerOptions{});
  const std::vector<EndpointEvent> events =
      FeedInRandomPieces(endpointer, timeline.audio.samples);
  std::vector<const EndpointEvent*> ends;
  int begins = 0;
  for (const EndpointEvent& event : events) {
    begins += event.type == EndpointEvent::Type::kSpeechBegin;
    if (event.type == EndpointEvent::Type::kUtteranceEnd)
      ends.push_back(&event);
  }
  EXPECT_EQ(begins, 3);
  ASSERT_EQ(ends.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const double start = ends[i]->start_frame / 16000.0;
    const double end = ends[i]->end_frame / 16000.0;
    // The utterance holds all of its speech, with at most the pre-roll before
    // and half the trailing silence after.
    EXPECT_LE(start, truth[i].first) << i;
    EXPECT_NEAR(start, truth[i].first - 0.2, 0.1) << i;
    EXPECT_GE(end, truth[i].second) << i;
    EXPECT_LE(end, truth[i].second + 0.3 + 0.1) << i;
    EXPECT_EQ(
        ends[i]->audio.size(),
        static_cast<std::size_t>(ends[i]->end_frame - ends[i]->start_frame));
  }
}

// A tone after a moment of silence: an energy detector learns the room from the
// first frames, so a tone from the very start would count as background.
PcmAudio ToneAfterSilence(double seconds) {
  return Decode(voxgate::testing::ConcatWav(
      {voxgate::testing::SilenceWav(0.5, 16000),
       voxgate::testing::ToneWav(300, seconds, 16000, 1)}));
}

TEST(EndpointerTest, CutsAtTheMaximumLength) {
  PcmAudio tone = ToneAfterSilence(5);
  EndpointerOptions options;
  options.max_utterance = absl::Seconds(2);
  Endpointer endpointer(options);
  std::vector<EndpointEvent> events =
      FeedInRandomPieces(endpointer, tone.samples);
  std::vector<int64_t> lengths;
  for (const EndpointEvent& event : events) {
    if (event.type == EndpointEvent::Type::kUtteranceEnd) {
      lengths.push_back(event.end_frame - event.start_frame);
    }
  }
  ASSERT_GE(lengths.size(), 2u);
  for (int64_t length : lengths) EXPECT_LE(length, 2 * 16000 + 320);
}

TEST(EndpointerTest, SpeechStartTimeoutFiresInSilence) {
  PcmAudio silence = Decode(voxgate::testing::SilenceWav(2.5, 16000));
  EndpointerOptions options;
  options.speech_start_timeout = absl::Seconds(1);
  Endpointer endpointer(options);
  int timeouts = 0;
  for (const EndpointEvent& event : endpointer.Push(silence.samples)) {
    timeouts += event.type == EndpointEvent::Type::kSpeechStartTimeout;
  }
  EXPECT_EQ(timeouts, 2);
}

TEST(EndpointerTest, FinalizeEndsTheUtteranceAtOnce) {
  PcmAudio tone = ToneAfterSilence(1);
  Endpointer endpointer(EndpointerOptions{});
  endpointer.Push(tone.samples);
  EXPECT_TRUE(endpointer.in_utterance());
  const std::vector<EndpointEvent> events = endpointer.Finalize();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EndpointEvent::Type::kUtteranceEnd);
  EXPECT_EQ(events[0].end_frame, 24000);
  EXPECT_FALSE(endpointer.in_utterance());
}

TEST(EndpointerTest, SpeechFromTheVeryFirstFrameIsFound) {
  // A caller who talks at once: the tone starts at frame 0, then silence.
  PcmAudio speech = Decode(voxgate::testing::ConcatWav(
      {voxgate::testing::ToneWav(440, 1.0, 16000, 1),
       voxgate::testing::SilenceWav(1.0, 16000)}));
  Endpointer endpointer(EndpointerOptions{});
  std::vector<EndpointEvent> ends;
  for (EndpointEvent& event : FeedInRandomPieces(endpointer, speech.samples)) {
    if (event.type == EndpointEvent::Type::kUtteranceEnd) ends.push_back(event);
  }
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].start_frame, 0);
  EXPECT_NEAR(ends[0].end_frame, 16000 + 4800, 320);  // + trailing silence / 2
}

TEST(WavTest, RoundTripsThroughTheDecoder) {
  PcmAudio audio = Decode(voxgate::testing::ToneWav(440, 0.5, 16000, 1));
  const std::string wav = EncodeWav(audio, 1000, 5000);
  EXPECT_EQ(wav.size(), 44u + 4000 * 2);
  PcmAudio again = Decode(wav);
  ASSERT_EQ(again.frames(), 4000);
  for (int i = 0; i < 4000; ++i) {
    ASSERT_NEAR(again.samples[i], audio.samples[1000 + i], 1.0 / 32767) << i;
  }
}

}  // namespace
}  // namespace voxgate::audio
