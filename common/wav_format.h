#ifndef VOXGATE_COMMON_WAV_FORMAT_H_
#define VOXGATE_COMMON_WAV_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace voxgate {

// Reading the RIFF/WAVE container: the one format every transcription backend
// is sent (audio/wav.h writes it). Reading it needs no codec, so the embedded
// engine and the stream sessions read it without FFmpeg.

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

}  // namespace voxgate

#endif  // VOXGATE_COMMON_WAV_FORMAT_H_
