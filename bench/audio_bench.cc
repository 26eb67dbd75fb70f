// audio_bench: decode + resample (+ loudness normalisation) throughput of the
// in-process pipeline, side by side in one run with spawning the ffmpeg CLI for
// the same conversion to 16 kHz mono, as today's Python gateways do per
// request.
//
// Inputs: speech (flite) repeated to 10 s and 10 min, as 44.1 kHz stereo MP3
// (128 kb/s), 48 kHz stereo Opus in WebM, and 44.1 kHz stereo WAV. Everything
// runs on one thread at a time, so "x real time" is per core.
//
// Usage: audio_bench [--short_reps=20] [--long_reps=2]

#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "audio/preprocess.h"

namespace voxgate::bench {
namespace {

std::string Read(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

void Run(const std::string& command) {
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "failed: %s\n", command.c_str());
    std::exit(1);
  }
}

double ChildCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Timing {
  double wall = 0;  // seconds per conversion
  double cpu = 0;
};

Timing TimeInProcess(const std::string& bytes, bool normalize, int reps) {
  audio::PreprocessOptions options;
  options.normalize_loudness = normalize;
  options.decode.max_input_bytes = int64_t{1}
                                   << 30;  // the 10-minute WAV is 106 MB
  const double cpu_start = SelfCpuSeconds();
  const absl::Time start = absl::Now();
  for (int i = 0; i < reps; ++i) {
    auto result = audio::Preprocess(bytes, options);
    if (!result.ok()) {
      std::fprintf(stderr, "decode failed: %s\n",
                   std::string(result.status().message()).c_str());
      std::exit(1);
    }
  }
  return {absl::ToDoubleSeconds(absl::Now() - start) / reps,
          (SelfCpuSeconds() - cpu_start) / reps};
}

// The CLI writes 16 kHz mono s16 to a pipe that we read whole, as a Python
// gateway reading ffmpeg's stdout does.
Timing TimeCli(const std::string& path, int reps) {
  const std::string command =
      absl::StrCat("ffmpeg -nostdin -hide_banner -loglevel error -i ", path,
                   " -ar 16000 -ac 1 -f s16le -");
  const double cpu_start = ChildCpuSeconds();
  const absl::Time start = absl::Now();
  for (int i = 0; i < reps; ++i) {
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[65536];
    while (fread(buffer, 1, sizeof(buffer), pipe) > 0) {
    }
    if (pclose(pipe) != 0) std::exit(1);
  }
  return {absl::ToDoubleSeconds(absl::Now() - start) / reps,
          (ChildCpuSeconds() - cpu_start) / reps};
}

int Main(int argc, char** argv) {
  int short_reps = 20, long_reps = 2;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--short_reps=")) {
      (void)absl::SimpleAtoi(arg, &short_reps);
    } else if (absl::ConsumePrefix(&arg, "--long_reps=")) {
      (void)absl::SimpleAtoi(arg, &long_reps);
    }
  }
  char dir_template[] = "/tmp/voxgate-audio-bench-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  // About 10 s of speech, then the same repeated to 10 minutes.
  Run(absl::StrCat(
      "flite -voice slt -t 'Voxgate decodes audio in process with the FFmpeg "
      "libraries, resamples it to sixteen kilohertz mono and normalises its "
      "loudness before it reaches a model server.' -o ",
      dir, "/speech.wav"));
  Run(absl::StrCat("sox ", dir, "/speech.wav -r 44100 -c 2 ", dir,
                   "/s10.wav pad 0 1 repeat 1 trim 0 10"));
  Run(absl::StrCat("sox ", dir, "/s10.wav ", dir, "/s600.wav repeat 59"));

  std::printf(
      "| input | length | in-process (+loudness) x RT | in-process "
      "(decode+resample) "
      "x RT | ffmpeg CLI x RT | speed-up (+loudness vs CLI) |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const char* length : {"10", "600"}) {
    const int reps = std::string(length) == "10" ? short_reps : long_reps;
    const double seconds = std::stod(length);
    struct Format {
      const char* name;
      const char* args;
      const char* extension;
    };
    for (const Format& format :
         {Format{"MP3 128k", "-c:a libmp3lame -b:a 128k", "mp3"},
          Format{"Opus/WebM", "-c:a libopus -b:a 48k", "webm"},
          Format{"WAV 44.1k stereo", "-c:a pcm_s16le", "wav"}}) {
      const std::string path =
          absl::StrCat(dir, "/in", length, ".", format.extension);
      Run(absl::StrCat("ffmpeg -nostdin -loglevel error -y -i ", dir, "/s",
                       length, ".wav ", format.args, " ", path));
      const std::string bytes = Read(path);
      TimeInProcess(bytes, true, 1);  // warm caches and codec tables
      const Timing full = TimeInProcess(bytes, true, reps);
      const Timing plain = TimeInProcess(bytes, false, reps);
      const Timing cli = TimeCli(path, reps);
      std::printf("| %s | %s s | %.0fx | %.0fx | %.0fx | %.1fx |\n",
                  format.name, length, seconds / full.cpu, seconds / plain.cpu,
                  seconds / cli.wall, cli.wall / full.wall);
      std::fflush(stdout);
    }
  }
  Run("rm -rf " + dir);
  return 0;
}

}  // namespace
}  // namespace voxgate::bench

int main(int argc, char** argv) { return voxgate::bench::Main(argc, argv); }
