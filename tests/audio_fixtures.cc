#include "tests/audio_fixtures.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace voxgate::testing {
namespace {

std::string Quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

}  // namespace

bool RunCommand(const std::string& command) {
  const int status = std::system((command + " >/dev/null 2>&1").c_str());
  EXPECT_EQ(status, 0) << command;
  return status == 0;
}

std::string TempPath(const std::string& name) {
  static std::atomic<int> counter{0};
  return absl::StrCat(::testing::TempDir(), "/", counter++, "_", name);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string SpeechWav(const std::string& text) {
  const std::string path = TempPath("speech.wav");
  if (!RunCommand(
          absl::StrCat("flite -voice slt -t ", Quote(text), " -o ", path)))
    return "";
  return ReadBytes(path);
}

std::string ToneWav(double frequency, double seconds, int sample_rate,
                    int channels, double amplitude) {
  const std::string path = TempPath("tone.wav");
  // -D: no dither, so silence is exactly zero (and the same bytes each time).
  if (!RunCommand(absl::StrCat("sox -D -n -r ", sample_rate, " -c ", channels,
                               " -b 16 ", path, " synth ", seconds, " sine ",
                               frequency, " vol ", amplitude))) {
    return "";
  }
  return ReadBytes(path);
}

std::string SilenceWav(double seconds, int sample_rate, int channels) {
  const std::string path = TempPath("silence.wav");
  // -D: no dither, so silence is exactly zero (and the same bytes each time).
  if (!RunCommand(absl::StrCat("sox -D -n -r ", sample_rate, " -c ", channels,
                               " -b 16 ", path, " trim 0 ", seconds))) {
    return "";
  }
  return ReadBytes(path);
}

std::string ConcatWav(const std::vector<std::string>& wavs) {
  std::vector<std::string> paths;
  for (const std::string& wav : wavs) {
    paths.push_back(TempPath("part.wav"));
    WriteBytes(paths.back(), wav);
  }
  const std::string path = TempPath("joined.wav");
  if (!RunCommand(absl::StrCat("sox ", absl::StrJoin(paths, " "), " ", path)))
    return "";
  return ReadBytes(path);
}

std::string Transcode(const std::string& input, const std::string& output_args,
                      const std::string& extension) {
  const std::string in = TempPath("in.wav");
  const std::string out = TempPath(absl::StrCat("out.", extension));
  WriteBytes(in, input);
  if (!RunCommand(
          absl::StrCat("ffmpeg -nostdin -hide_banner -loglevel error -y -i ",
                       in, " ", output_args, " ", out))) {
    return "";
  }
  return ReadBytes(out);
}

}  // namespace voxgate::testing
