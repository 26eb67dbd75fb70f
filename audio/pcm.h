#ifndef VOXGATE_AUDIO_PCM_H_
#define VOXGATE_AUDIO_PCM_H_

#include <cstdint>
#include <string>
#include <vector>

namespace voxgate::audio {

// Decoded audio: interleaved float samples in [-1, 1].
struct PcmAudio {
  int sample_rate = 16000;
  int channels = 1;
  std::vector<float> samples;

  int64_t frames() const {
    return channels > 0 ? static_cast<int64_t>(samples.size()) / channels : 0;
  }
  double duration_seconds() const {
    return sample_rate > 0 ? static_cast<double>(frames()) / sample_rate : 0;
  }
};

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_PCM_H_
