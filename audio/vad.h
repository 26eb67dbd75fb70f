#ifndef VOXGATE_AUDIO_VAD_H_
#define VOXGATE_AUDIO_VAD_H_

#include <vector>

#include "absl/types/span.h"
#include "audio/pcm.h"

namespace voxgate::audio {

struct VadOptions {
  // Analysis frame.
  int frame_ms = 20;
  // Speech is this far above the tracked noise floor...
  double margin_db = 12;
  // ...and above this absolute level.
  double min_speech_dbfs = -50;
  // Frames stay "speech" this long after the last loud one (word gaps,
  // plosives).
  int hangover_ms = 200;
};

// Energy voice activity detection with an adaptive noise floor and hangover.
// Feed consecutive frames of mono PCM; each call classifies one frame.
// Thread-compatible.
class EnergyVad {
 public:
  explicit EnergyVad(const VadOptions& options, int sample_rate);

  int frame_samples() const { return frame_samples_; }

  // Classifies the next frame (frame_samples() samples). Returns true for
  // speech.
  bool Process(absl::Span<const float> frame);

  // Whether the last frame itself was loud (speech without the hangover).
  bool last_frame_loud() const { return last_frame_loud_; }
  // Level of the last frame, dBFS.
  double last_energy_dbfs() const { return last_energy_dbfs_; }
  double noise_floor_dbfs() const { return noise_floor_dbfs_; }

 private:
  const VadOptions options_;
  const int frame_samples_;
  const int hangover_frames_;
  double noise_floor_dbfs_ = -60;
  double last_energy_dbfs_ = -120;
  int frames_seen_ = 0;
  int hangover_left_ = 0;
  bool last_frame_loud_ = false;
};

// The level in dBFS of each consecutive `frame_samples` frame of mono `samples`
// (the last partial frame included).
std::vector<double> FrameEnergiesDbfs(absl::Span<const float> samples,
                                      int frame_samples);

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_VAD_H_
