// embedded_bench: real-time factor of the embedded pocketsphinx engine per core
// and its throughput (clips/s) with 1 and 2 decoding threads, on the LibriVox
// clips of pocketsphinx-testdata; then the cost of a stream's interim results
// (one a second over a long utterance) decoded incrementally versus by
// re-decoding the utterance so far.
//
// Usage: bazel run -c opt //bench:embedded_bench -- [--rounds=3]

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "audio/wav.h"
#include "common/worker_pool.h"
#include "upstream/embedded_engine.h"

namespace voxgate::bench {
namespace {

std::string Read(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

int Main(int argc, char** argv) {
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--rounds="))
      (void)absl::SimpleAtoi(arg, &rounds);
  }
  const char* kClips[] = {"0870", "0880", "0890", "0920", "0930"};
  std::vector<std::string> clips;
  double audio_seconds = 0;
  for (const char* id : kClips) {
    clips.push_back(
        Read(std::string("/usr/share/pocketsphinx/test/data/librivox/"
                         "sense_and_sensibility_01_austen_64kb-") +
             id + ".wav"));
    audio_seconds += (clips.back().size() - 44) / 32000.0;
  }
  WorkerPool workers(2, 16);
  upstream::EmbeddedEngineOptions options;
  options.max_decoders = 2;
  auto engine = upstream::EmbeddedEngine::Create(options, workers);
  if (!engine.ok()) return 1;
  // Load both decoders' models before timing.
  std::thread warm([&] { (void)(*engine)->TranscribeNow(clips[1], {}); });
  (void)(*engine)->TranscribeNow(clips[1], {});
  warm.join();

  std::printf(
      "| decoding threads | clips | audio s | wall s | clips/s | x real time "
      "(total) | "
      "x real time per core |\n|---|---|---|---|---|---|---|\n");
  for (int threads : {1, 2}) {
    const absl::Time start = absl::Now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int r = 0; r < rounds; ++r) {
          for (std::size_t c = t; c < clips.size(); c += threads) {
            (void)(*engine)->TranscribeNow(clips[c], {});
          }
        }
      });
    }
    for (std::thread& thread : pool) thread.join();
    const double wall = absl::ToDoubleSeconds(absl::Now() - start);
    const double audio = audio_seconds * rounds;
    std::printf("| %d | %zu | %.1f | %.2f | %.2f | %.1fx | %.1fx |\n", threads,
                clips.size() * rounds, audio, wall,
                clips.size() * rounds / wall, audio / wall,
                audio / wall / threads);
  }

  // The five clips as one 24.7 s utterance, an interim every second of it.
  std::vector<float> utterance;
  for (const std::string& clip : clips) {
    const std::optional<Pcm16> pcm = ParseWavPcm16(clip);
    if (!pcm) return 1;
    for (int16_t sample : pcm->samples) utterance.push_back(sample / 32768.0f);
  }
  std::unique_ptr<upstream::IncrementalTranscriber> session =
      (*engine)->StartIncremental();
  int interims = 0;
  absl::Duration incremental, redecode, slowest_incremental, slowest_redecode;
  for (std::size_t length = 16000; length <= utterance.size();
       length += 16000, ++interims) {
    std::vector<float> so_far(utterance.begin(), utterance.begin() + length);
    absl::Time start = absl::Now();
    absl::Notification done;
    session->Partial(0, so_far, [&](auto) { done.Notify(); });
    done.WaitForNotification();
    const absl::Duration one_incremental = absl::Now() - start;
    start = absl::Now();
    audio::PcmAudio pcm;
    pcm.samples = std::move(so_far);
    (void)(*engine)->TranscribeNow(audio::EncodeWav(pcm), {});
    const absl::Duration one_redecode = absl::Now() - start;
    incremental += one_incremental;
    redecode += one_redecode;
    slowest_incremental = std::max(slowest_incremental, one_incremental);
    slowest_redecode = std::max(slowest_redecode, one_redecode);
  }
  std::printf(
      "\n| interims of a %.1f s utterance | total decode s | last interim ms "
      "|\n"
      "|---|---|---|\n| incremental (%d) | %.2f | %.0f |\n"
      "| re-decode the utterance so far (%d) | %.2f | %.0f |\n",
      utterance.size() / 16000.0, interims, absl::ToDoubleSeconds(incremental),
      absl::ToDoubleMilliseconds(slowest_incremental), interims,
      absl::ToDoubleSeconds(redecode),
      absl::ToDoubleMilliseconds(slowest_redecode));
  return 0;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
