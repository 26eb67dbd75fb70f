#ifndef VOXGATE_AUDIO_WAV_H_
#define VOXGATE_AUDIO_WAV_H_

#include <cstdint>
#include <string>

#include "audio/pcm.h"
#include "common/wav_format.h"

namespace voxgate::audio {

// Frames [start, end) of `audio` as a 16-bit PCM WAV file (RIFF/WAVE, fmt +
// data), samples clipped to [-1, 1]. Ranges are clamped to the audio.
std::string EncodeWav(const PcmAudio& audio, int64_t start_frame,
                      int64_t end_frame);

inline std::string EncodeWav(const PcmAudio& audio) {
  return EncodeWav(audio, 0, audio.frames());
}

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_WAV_H_
