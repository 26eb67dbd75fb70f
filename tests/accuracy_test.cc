// Accuracy of the embedded engine on real recorded speech (Debian's
// pocketsphinx-testdata LibriVox clips), through the gateway in several
// formats, against the fair baseline: the same encoded files turned into 16 kHz
// mono WAV by the ffmpeg CLI and given to the engine directly.

#include <algorithm>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "audio/wav.h"
#include "common/worker_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audio_fixtures.h"
#include "tests/gateway_process.h"
#include "tests/wer.h"
#include "upstream/embedded_engine.h"
#include "voxgate/v1/service.grpc.pb.h"

namespace voxgate::testing {
namespace {

constexpr char kLibrivox[] = "/usr/share/pocketsphinx/test/data/librivox";

struct Clip {
  std::string wav_path;
  std::string reference;
};

std::vector<Clip> LibrivoxClips() {
  std::ifstream transcription(absl::StrCat(kLibrivox, "/transcription"));
  std::vector<Clip> clips;
  std::string line;
  const std::regex pattern(R"(<s> (.*) </s> \((.*)\))");
  std::smatch match;
  while (std::getline(transcription, line)) {
    if (std::regex_search(line, match, pattern)) {
      clips.push_back({absl::StrCat(kLibrivox, "/", match[2].str(), ".wav"),
                       match[1].str()});
    }
  }
  return clips;
}

struct Format {
  std::string name;
  std::string ffmpeg_args;  // from the 16 kHz original to the upload format
  std::string extension;
};

const std::vector<Format>& Formats() {
  static const auto* formats = new std::vector<Format>{
      {"WAV 16k mono (original)", "-c:a pcm_s16le", "wav"},
      {"FLAC 44.1k stereo", "-ar 44100 -ac 2 -c:a flac", "flac"},
      {"MP3 44.1k stereo 128k", "-ar 44100 -ac 2 -c:a libmp3lame -b:a 128k",
       "mp3"},
      {"Opus 48k stereo 32k", "-ar 48000 -ac 2 -c:a libopus -b:a 32k", "ogg"},
  };
  return *formats;
}

double Percent(const WordErrors& errors) {
  return 100.0 * errors.errors() / std::max(1, errors.reference_words);
}

TEST(AccuracyTest, TheGatewaysAudioPathCostsNoAccuracy) {
  const std::vector<Clip> clips = LibrivoxClips();
  ASSERT_EQ(clips.size(), 5u);
  WorkerPool workers(1, 4);
  auto engine = upstream::EmbeddedEngine::Create({}, workers);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto gateway = GatewayProcess::Start("");  // no pools: the embedded engine
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = v1::VoxgateService::NewStub((*gateway)->channel());

  std::string table =
      "| upload format | engine on CLI-converted WAV: WER | through the "
      "gateway: WER |\n"
      "|---|---|---|\n";
  double original_wer = -1;
  for (const Format& format : Formats()) {
    WordErrors baseline, through;
    for (const Clip& clip : clips) {
      const std::string upload = Transcode(
          ReadBytes(clip.wav_path), format.ffmpeg_args, format.extension);
      // Baseline: the CLI makes 16 kHz mono WAV, the engine decodes it.
      const std::string cli_wav =
          Transcode(upload, "-ar 16000 -ac 1 -c:a pcm_s16le", "wav");
      auto direct =
          (*engine)->TranscribeNow(cli_wav, {absl::InfiniteFuture(), ""});
      ASSERT_TRUE(direct.ok()) << direct.status();
      WordErrors e = CountWordErrors(clip.reference, direct->text);
      baseline.substitutions += e.substitutions;
      baseline.deletions += e.deletions;
      baseline.insertions += e.insertions;
      baseline.reference_words += e.reference_words;

      grpc::ClientContext context;
      v1::TranscribeRequest request;
      request.mutable_audio()->set_content(upload);
      v1::TranscribeResponse response;
      grpc::Status status = stub->Transcribe(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      e = CountWordErrors(clip.reference, response.text());
      through.substitutions += e.substitutions;
      through.deletions += e.deletions;
      through.insertions += e.insertions;
      through.reference_words += e.reference_words;
    }
    absl::StrAppendFormat(&table, "| %s | %.1f%% | %.1f%% |\n", format.name,
                          Percent(baseline), Percent(through));
    if (original_wer < 0) original_wer = Percent(baseline);
    // Within two points of the fair baseline; lossless FLAC as good as the
    // original.
    EXPECT_LE(Percent(through), Percent(baseline) + 2.0) << format.name;
    if (format.extension == "flac") {
      EXPECT_LE(Percent(through), original_wer + 2.0);
    }
  }
  std::cout << "\n" << table;
  // The engine does recognise speech: a sanity bound, far above chance.
  EXPECT_LT(original_wer, 50);
}

TEST(AccuracyTest, StreamingAtRealTimePaceKeepsTheAccuracy) {
  const std::vector<Clip> clips = LibrivoxClips();
  ASSERT_EQ(clips.size(), 5u);
  WorkerPool workers(1, 4);
  auto engine = upstream::EmbeddedEngine::Create({}, workers);
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto gateway = GatewayProcess::Start("");
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  // The five clips stream side by side, each at real-time pace, with interim
  // results (the engine decodes them incrementally).
  std::vector<std::string> hypotheses(clips.size());
  std::vector<int> interims(clips.size(), 0);
  std::vector<std::thread> streams;
  for (std::size_t c = 0; c < clips.size(); ++c) {
    streams.emplace_back([&, c] {
      auto stub = v1::VoxgateService::NewStub((*gateway)->channel());
      grpc::ClientContext context;
      auto stream = stub->StreamTranscribe(&context);
      v1::StreamTranscribeRequest config;
      config.mutable_config()->mutable_format()->set_encoding(
          v1::AUDIO_ENCODING_WAV);
      config.mutable_config()->set_interim_results(true);
      stream->Write(config);
      const std::string wav = ReadBytes(clips[c].wav_path);
      const absl::Time start = absl::Now();
      int piece = 0;
      for (std::size_t at = 0; at < wav.size(); at += 3200, ++piece) {
        absl::SleepFor(start + absl::Milliseconds(100) * piece - absl::Now());
        v1::StreamTranscribeRequest audio;
        audio.set_audio(wav.substr(at, 3200));
        stream->Write(audio);
      }
      stream->WritesDone();
      v1::StreamTranscribeResponse response;
      while (stream->Read(&response)) {
        interims[c] += response.has_result() && !response.result().is_final() &&
                       !response.result().text().empty();
        if (response.result().is_final()) {
          absl::StrAppend(&hypotheses[c], hypotheses[c].empty() ? "" : " ",
                          response.result().text());
        }
      }
      EXPECT_TRUE(stream->Finish().ok());
    });
  }
  for (std::thread& stream : streams) stream.join();

  WordErrors baseline, streamed;
  for (std::size_t c = 0; c < clips.size(); ++c) {
    auto direct = (*engine)->TranscribeNow(ReadBytes(clips[c].wav_path),
                                           {absl::InfiniteFuture(), ""});
    ASSERT_TRUE(direct.ok()) << direct.status();
    for (auto [errors, text] : {std::pair{&baseline, direct->text},
                                std::pair{&streamed, hypotheses[c]}}) {
      const WordErrors e = CountWordErrors(clips[c].reference, text);
      errors->substitutions += e.substitutions;
      errors->deletions += e.deletions;
      errors->insertions += e.insertions;
      errors->reference_words += e.reference_words;
    }
  }
  std::cout << absl::StrFormat(
      "\n| StreamTranscribe, WAV at real-time pace | %.1f%% | %.1f%% |\n",
      Percent(baseline), Percent(streamed));
  EXPECT_LE(Percent(streamed), Percent(baseline) + 2.0);
  // Interims come from the engine's stream decoders, one per worker thread,
  // lent to a stream while one is free at its interim tick: which streams
  // get one depends on scheduling (on a busy machine one stream may hold the
  // only free decoder for all its ticks), so the count per stream is not a
  // fact to assert; that interims flow while every stream runs is.
  const int with_interims = static_cast<int>(std::count_if(
      interims.begin(), interims.end(), [](int n) { return n > 0; }));
  EXPECT_GE(with_interims, 1);
}

TEST(AccuracyTest, InterimResultsDecodeEachSampleOnce) {
  const std::vector<Clip> clips = LibrivoxClips();
  ASSERT_FALSE(clips.empty());
  WorkerPool workers(1, 4);
  auto engine = upstream::EmbeddedEngine::Create({}, workers);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const std::optional<Pcm16> pcm = ParseWavPcm16(ReadBytes(clips[0].wav_path));
  ASSERT_TRUE(pcm.has_value());
  std::vector<float> samples;
  for (int16_t sample : pcm->samples) samples.push_back(sample / 32768.0f);

  auto partial = [&](upstream::IncrementalTranscriber& session, int utterance,
                     std::size_t length) {
    absl::Notification done;
    absl::StatusOr<upstream::Transcription> result;
    session.Partial(
        utterance,
        std::vector<float>(samples.begin(), samples.begin() + length),
        [&](absl::StatusOr<upstream::Transcription> r) {
          result = std::move(r);
          done.Notify();
        });
    done.WaitForNotification();
    return result;
  };
  std::unique_ptr<upstream::IncrementalTranscriber> session =
      (*engine)->StartIncremental();
  ASSERT_NE(session, nullptr);
  // An interim every second of audio, as StreamTranscribe asks them.
  double decoded_seconds = 0;
  std::string last;
  for (std::size_t length = 16000;; length += 16000) {
    length = std::min(length, samples.size());
    auto result = partial(*session, 0, length);
    ASSERT_TRUE(result.ok()) << result.status();
    decoded_seconds += result->duration_seconds;
    last = result->text;
    if (length == samples.size()) break;
  }
  // Each sample was decoded once in all, not once per interim.
  EXPECT_NEAR(decoded_seconds, samples.size() / 16000.0, 0.001);
  // The last interim is a real hypothesis of the whole clip.
  const WordErrors errors = CountWordErrors(clips[0].reference, last);
  EXPECT_LT(Percent(errors), 60.0) << last;
  // A new utterance starts afresh.
  auto next = partial(*session, 1, 32000);
  ASSERT_TRUE(next.ok());
  EXPECT_NEAR(next->duration_seconds, 2.0, 0.001);
}

}  // namespace
}  // namespace voxgate::testing
