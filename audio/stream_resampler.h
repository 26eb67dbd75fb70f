#ifndef VOXGATE_AUDIO_STREAM_RESAMPLER_H_
#define VOXGATE_AUDIO_STREAM_RESAMPLER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace voxgate::audio {

// Raw sample encodings a stream can declare.
enum class RawEncoding { kS16le, kMulaw, kAlaw };

// Turns raw interleaved samples arriving in pieces of any size into 16 kHz (or
// the target rate) mono float, keeping the resampler's state between pieces.
// Not thread-safe; one per stream, used from one thread at a time.
class StreamResampler {
 public:
  // INVALID_ARGUMENT naming the field for rates outside 8000..192000 or
  // channels outside 1..8.
  static absl::StatusOr<std::unique_ptr<StreamResampler>> Create(
      RawEncoding encoding, int sample_rate, int channels,
      int target_rate = 16000);
  ~StreamResampler();

  // Appends the resampled audio of `bytes` to `out`. A sample split across
  // pieces is kept until its other bytes arrive.
  absl::Status Push(absl::string_view bytes, std::vector<float>& out);
  // Drains the filter's tail at the end of the stream.
  absl::Status Flush(std::vector<float>& out);

 private:
  struct Impl;
  explicit StreamResampler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voxgate::audio

#endif  // VOXGATE_AUDIO_STREAM_RESAMPLER_H_
