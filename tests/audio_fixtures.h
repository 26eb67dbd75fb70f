#ifndef VOXGATE_TESTS_AUDIO_FIXTURES_H_
#define VOXGATE_TESTS_AUDIO_FIXTURES_H_

// Audio made at test time with flite, sox and the ffmpeg CLI, so no binaries
// are committed. Each function fails the calling test (and returns "") when a
// tool fails.

#include <string>
#include <vector>

namespace voxgate::testing {

// Runs a shell command; true on exit status 0.
bool RunCommand(const std::string& command);

// A fresh file path in the test's temporary directory.
std::string TempPath(const std::string& name);

std::string ReadBytes(const std::string& path);
void WriteBytes(const std::string& path, const std::string& bytes);

// flite's "slt" voice saying `text`: 16 kHz mono WAV.
std::string SpeechWav(const std::string& text);

// A sine tone as WAV: `channels` identical channels.
std::string ToneWav(double frequency, double seconds, int sample_rate,
                    int channels, double amplitude = 0.5);

// Silence as WAV.
std::string SilenceWav(double seconds, int sample_rate, int channels = 1);

// WAV files joined end to end (sox); all must share rate and channels.
std::string ConcatWav(const std::vector<std::string>& wavs);

// `input` converted by the ffmpeg CLI with `output_args` (e.g. "-c:a libopus")
// to a file named with `extension` ("ogg", "webm", ...).
std::string Transcode(const std::string& input, const std::string& output_args,
                      const std::string& extension);

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_AUDIO_FIXTURES_H_
