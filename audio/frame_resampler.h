#ifndef VOXGATE_AUDIO_FRAME_RESAMPLER_H_
#define VOXGATE_AUDIO_FRAME_RESAMPLER_H_

// Private to audio/: FFmpeg types stay in here.

#include <vector>

#include "absl/status/status.h"
#include "audio/ffmpeg_handles.h"

namespace voxgate::audio::internal {

// Converts decoded frames to the target rate, channels and float samples,
// following the frames' format, rate and layout as they change.
class FrameResampler {
 public:
  FrameResampler() = default;
  FrameResampler(const FrameResampler&) = delete;
  FrameResampler& operator=(const FrameResampler&) = delete;
  ~FrameResampler();

  absl::Status Convert(const AVFrame* frame, int target_rate,
                       int target_channels, std::vector<float>& out);
  // Drains what the resampler still holds.
  absl::Status Flush(int target_channels, std::vector<float>& out);

 private:
  absl::Status Reset(const AVFrame* frame, int target_rate,
                     int target_channels);
  absl::Status Append(uint8_t** input, int input_samples, int target_channels,
                      std::vector<float>& out);

  SwrPtr swr_;
  AVChannelLayout in_layout_{};
  AVChannelLayout frame_layout_{};
  int in_rate_ = 0;
  int in_format_ = -1;
};

}  // namespace voxgate::audio::internal

#endif  // VOXGATE_AUDIO_FRAME_RESAMPLER_H_
