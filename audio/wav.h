#ifndef VOXGATE_AUDIO_WAV_H_
#define VOXGATE_AUDIO_WAV_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "audio/pcm.h"

namespace voxgate::audio {

// Frames [start, end) of `audio` as a 16-bit PCM WAV file (RIFF/WAVE, fmt +
// data), samples clipped to [-1, 1]. Ranges are clamped to the audio.
std::string EncodeWav(const PcmAudio& audio, int64_t start_frame,
                      int64_t end_frame);

inline std::string EncodeWav(const PcmAudio& audio) {
  return EncodeWav(audio, 0, audio.frames());
}

// Where a WAV file's samples start and how they are laid out.
struct WavLayout {
  int format_tag = 0;  // 1 = integer PCM
  int sample_rate = 0;
  int channels = 0;
  int bits_per_sample = 0;
  std::size_t data_offset = 0;  // first sample byte
  uint32_t data_bytes = 0;      // as declared; may exceed what is there
};

// Reads a RIFF/WAVE header up to the start of the "data" chunk; nullopt when
// the bytes are not WAV or the header is not complete yet (streams: feed more).
std::optional<WavLayout> ParseWavHeader(absl::string_view bytes);

// Parses a 16-bit PCM WAV file (as EncodeWav writes); nullopt for anything
// else.
struct Pcm16 {
  int sample_rate = 0;
  int channels = 0;
  std::vector<int16_t> samples;  // interleaved
};
std::optional<Pcm16> ParseWavPcm16(const std::string& bytes);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_WAV_H_
